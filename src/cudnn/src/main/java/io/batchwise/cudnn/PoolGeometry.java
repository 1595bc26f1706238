package io.batchwise.cudnn;

/**
 * A 2-D pooling window over {@code x (n, c, h, w) -> y (n, c, outH, outW)}: max (padded positions
 * never win) or average with or without the padded positions in the divisor.
 */
record PoolGeometry(Mode mode, int n, int c, int h, int w, int windowH, int windowW, int padH, int padW, int strideH,
                    int strideW, int outH, int outW) {

    enum Mode { MAX, AVERAGE_INCLUDE_PADDING, AVERAGE_EXCLUDE_PADDING }

    long sourceElements() {
        return (long) n * c * h * w;
    }

    long destinationElements() {
        return (long) n * c * outH * outW;
    }
}
