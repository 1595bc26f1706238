package io.batchwise.reference;

import io.batchwise.backend.MemoryTracker;

/**
 * An {@code int[]} workspace (max-pooling arg-max indices), counted as 4 bytes per element by
 * its backend's {@link MemoryTracker} until {@link #close()} (idempotent).
 */
final class RefIndices implements AutoCloseable {
    static final int BYTES = Integer.BYTES;

    private final MemoryTracker tracker;
    private final long bytes;
    /** The indices; null once closed. */
    int[] data;

    RefIndices(int size, MemoryTracker tracker) {
        this.tracker = tracker;
        this.bytes = (long) size * BYTES;
        this.data = new int[size];
        tracker.allocated(bytes);
    }

    @Override
    public void close() {
        if (data != null) {
            data = null;
            tracker.freed(bytes);
        }
    }
}
