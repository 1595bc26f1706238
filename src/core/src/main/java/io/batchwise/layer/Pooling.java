package io.batchwise.layer;

import io.batchwise.Shape;

/** Shape rules shared by the pooling layers. */
final class Pooling {
    private Pooling() {
    }

    static void check(String type, int kh, int kw, int sh, int sw, int ph, int pw) {
        if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || ph < 0 || pw < 0) {
            throw new IllegalArgumentException(type + " needs a positive window and stride and non-negative padding, got window "
                    + kh + "x" + kw + ", stride " + sh + "x" + sw + ", padding " + ph + "x" + pw);
        }
        if (2 * ph > kh || 2 * pw > kw) {
            throw new IllegalArgumentException(type + " padding " + ph + "x" + pw + " must be at most half the window "
                    + kh + "x" + kw + " (a window would see only padding)");
        }
    }

    static Shape outputShape(Shape s, int kh, int kw, int sh, int sw, int ph, int pw) {
        Layer.requireRank(s, 3, "(C, H, W)");
        int oh = Conv2d.outSize(s.dim(1), kh, sh, ph, 1);
        int ow = Conv2d.outSize(s.dim(2), kw, sw, pw, 1);
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException("window " + kh + "x" + kw + " (padding " + ph + "x" + pw
                    + ") does not fit input shape " + s);
        }
        return Shape.of(s.dim(0), oh, ow);
    }
}
