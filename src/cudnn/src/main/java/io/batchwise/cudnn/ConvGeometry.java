package io.batchwise.cudnn;

import io.batchwise.DataType;

/**
 * A 2-D convolution's shapes: {@code x (n, c, h, w) (x) w (k, c, r, s) -> y (n, k, outH, outW)},
 * with symmetric padding, strides and dilations (1 = none), and the element type of x, w and y (float32,
 * or bfloat16 in a bf16 plan: cuDNN's pseudo-bf16 configuration, computing in float32). The key of the
 * algorithm cache: one algorithm choice per geometry and type, made once per process.
 */
record ConvGeometry(int n, int c, int h, int w, int k, int r, int s, int padH, int padW, int strideH, int strideW,
                    int dilationH, int dilationW, int outH, int outW, DataType type) {

    /** A float32 convolution. */
    ConvGeometry(int n, int c, int h, int w, int k, int r, int s, int padH, int padW, int strideH, int strideW,
                 int dilationH, int dilationW, int outH, int outW) {
        this(n, c, h, w, k, r, s, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, DataType.FLOAT32);
    }

    boolean bf16() {
        return type == DataType.BFLOAT16;
    }

    ConvGeometry {
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || k <= 0 || r <= 0 || s <= 0 || outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException("convolution dimensions must be positive: " + describe(n, c, h, w, k, r, s, outH, outW));
        }
    }

    long sourceElements() {
        return (long) n * c * h * w;
    }

    long filterElements() {
        return (long) k * c * r * s;
    }

    long destinationElements() {
        return (long) n * k * outH * outW;
    }

    String describe() {
        return describe(n, c, h, w, k, r, s, outH, outW) + String.format(", padding %dx%d, stride %dx%d, dilation %dx%d",
                padH, padW, strideH, strideW, dilationH, dilationW) + (bf16() ? ", bf16" : "");
    }

    private static String describe(int n, int c, int h, int w, int k, int r, int s, int oh, int ow) {
        return String.format("(%d, %d, %d, %d) (x) (%d, %d, %d, %d) -> (%d, %d, %d, %d)", n, c, h, w, k, c, r, s, n, k, oh, ow);
    }
}
