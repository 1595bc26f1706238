package io.batchwise;

/**
 * Element type of tensors. Storage size is explicit so that memory plans are exact. Parameters,
 * gradients and optimizer state are FLOAT32 (or FLOAT64 on the reference backend); BFLOAT16 is what a
 * {@link io.batchwise.backend.Precision#BF16_MIXED} plan keeps activations and kernel weight copies in.
 */
public enum DataType {
    /** IEEE 754 binary32: what the native backends train in. */
    FLOAT32(4),
    /** IEEE 754 binary64: the reference backend's gradient-check precision. */
    FLOAT64(8),
    /** bfloat16: float32's sign and 8-bit exponent with an 8-bit significand (7 stored); activations in mixed precision. */
    BFLOAT16(2);

    private final int bytes;

    DataType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
