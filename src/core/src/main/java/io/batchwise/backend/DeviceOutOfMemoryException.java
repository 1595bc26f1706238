package io.batchwise.backend;

/**
 * An allocation in a backend's memory failed (device or host memory exhausted, fragmentation,
 * another process). Backends translate their native out-of-memory errors into this type, never by
 * matching message text upstream, so the trainer can recover: halve the micro-batch, double the
 * accumulation steps, redo the effective batch.
 */
public class DeviceOutOfMemoryException extends RuntimeException {
    private final long requestedBytes;

    public DeviceOutOfMemoryException(String message, long requestedBytes, Throwable cause) {
        super(message, cause);
        this.requestedBytes = requestedBytes;
    }

    /** Bytes the failed allocation asked for, or -1 when unknown. */
    public long requestedBytes() {
        return requestedBytes;
    }
}
