package io.batchwise;

/**
 * Element type of tensors. Storage size is explicit so that memory plans are exact; half
 * precision types (bf16, fp16) slot in here with their sizes once a backend supports them.
 */
public enum DataType {
    /** IEEE 754 binary32: what the native backends train in. */
    FLOAT32(4),
    /** IEEE 754 binary64: the reference backend's gradient-check precision. */
    FLOAT64(8);

    private final int bytes;

    DataType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
