package io.batchwise.spi;

/**
 * bfloat16 on the host: the top 16 bits of a float32, rounded to nearest even (a NaN stays a quiet NaN), bit for bit
 * as oneDNN's reorders and native/cuda's {@code bw_bf16_from_float} round. For a backend's host copies of bf16
 * tensors and for tests that make values representable.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** float32 to bfloat16 bits, rounding to nearest even. */
    public static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 0x40); // NaN: keep it quiet
        }
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }

    /** bfloat16 bits to the float32 they stand for (exact). */
    public static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** {@code f} rounded to the nearest bf16, as a float. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
