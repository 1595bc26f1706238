package io.batchwise.cudnn;

/**
 * bfloat16 on the host, bit for bit as native/cuda's {@code bw_bf16_from_float} and {@code bw_bf16_to_float}: the top
 * 16 bits of a float32, rounded to nearest even (NaN stays a quiet NaN).
 */
final class Bf16 {
    private Bf16() {
    }

    static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 0x40); // NaN: keep it quiet
        }
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }

    static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** {@code f} rounded to the nearest bf16, as a float. */
    static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
