package io.batchwise.backend;

import java.util.concurrent.atomic.AtomicLong;

/** Live and peak bytes a backend has allocated. Thread-safe. */
public final class MemoryTracker {
    private final AtomicLong live = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();

    public void allocated(long bytes) {
        long now = live.addAndGet(bytes);
        peak.accumulateAndGet(now, Math::max);
    }

    public void freed(long bytes) {
        live.addAndGet(-bytes);
    }

    public long liveBytes() {
        return live.get();
    }

    public long peakBytes() {
        return peak.get();
    }

    /** Starts a new peak measurement from the bytes live now. */
    public void resetPeak() {
        peak.set(live.get());
    }
}
