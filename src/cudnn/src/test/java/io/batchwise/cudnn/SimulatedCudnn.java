package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;

/** The cuDNN backend on a fresh {@link SimulatedDevice}, for tests outside this package (the optimizer's, in io.batchwise.train). */
public final class SimulatedCudnn {
    private final SimulatedDevice device = new SimulatedDevice();
    private final Backend backend = new CudnnBackend(() -> device, () -> Availability.yes(device.describe()));

    public Backend backend() {
        return backend;
    }

    /** Launches of kernel {@code symbol} outside programs so far (the optimizer's kernels). */
    public int launches(String symbol) {
        return device.launches.entrySet().stream().filter(e -> e.getKey().symbol.equals(symbol)).mapToInt(e -> e.getValue()).sum();
    }

    /** Floats copied from the device to the host so far. */
    public long downloadedFloats() {
        return device.downloadedFloats;
    }

    /** Bytes allocated and not yet freed. */
    public long liveBytes() {
        return device.tracker().liveBytes();
    }
}
