package io.batchwise.cudnn;

/**
 * A 2-D convolution's shapes: {@code x (n, c, h, w) (x) w (k, c, r, s) -> y (n, k, outH, outW)},
 * with symmetric padding, strides and dilations (1 = none). The key of the algorithm cache: one
 * algorithm choice per geometry, made once per process.
 */
record ConvGeometry(int n, int c, int h, int w, int k, int r, int s, int padH, int padW, int strideH, int strideW,
                    int dilationH, int dilationW, int outH, int outW) {

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
                padH, padW, strideH, strideW, dilationH, dilationW);
    }

    private static String describe(int n, int c, int h, int w, int k, int r, int s, int oh, int ow) {
        return String.format("(%d, %d, %d, %d) (x) (%d, %d, %d, %d) -> (%d, %d, %d, %d)", n, c, h, w, k, c, r, s, n, k, oh, ow);
    }
}
