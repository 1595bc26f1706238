package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.Pass;
import io.batchwise.layer.AvgPool2d;

/**
 * Average pooling. {@code src (N, C, H, W) -> dst (N, C, OH, OW)}, windows as in max pooling.
 * The divisor is {@code KH * KW} with {@code countIncludePad}, otherwise the number of in-bounds
 * positions of the window (padding <= half the window keeps it positive).
 */
final class RefAvgPool2d extends RefOp {
    private final int c, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
    private final boolean includePad;

    RefAvgPool2d(Node node, int batch) {
        super(node, batch);
        AvgPool2d a = (AvgPool2d) node.layer();
        Shape in = node.inputShapes().get(0);
        c = in.dim(0);
        h = in.dim(1);
        w = in.dim(2);
        oh = node.outputShape().dim(1);
        ow = node.outputShape().dim(2);
        kh = a.kernelH();
        kw = a.kernelW();
        sh = a.strideH();
        sw = a.strideW();
        ph = a.padH();
        pw = a.padW();
        includePad = a.countIncludePad();
    }

    /** Rows (or columns) of the window starting at {@code start} of length {@code k} inside {@code [0, size)}. */
    private static int inBounds(int start, int k, int size) {
        return Math.min(start + k, size) - Math.max(start, 0);
    }

    private int divisor(int y, int x) {
        return includePad ? kh * kw : inBounds(y * sh - ph, kh, h) * inBounds(x * sw - pw, kw, w);
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);  // (N, C, H, W)
        double[] dst = t.dst();   // (N, C, OH, OW)
        for (int plane = 0; plane < batch * c; plane++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    double sum = 0;
                    for (int iy = Math.max(0, y * sh - ph); iy < Math.min(h, y * sh - ph + kh); iy++) {
                        for (int ix = Math.max(0, x * sw - pw); ix < Math.min(w, x * sw - pw + kw); ix++) {
                            sum += src[(plane * h + iy) * w + ix];
                        }
                    }
                    dst[(plane * oh + y) * ow + x] = sum / divisor(y, x);
                }
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffSrc = t.diffSrc(0);  // (N, C, H, W)
        if (diffSrc == null) {
            return;
        }
        double[] diffDst = t.diffDst();   // (N, C, OH, OW)
        for (int plane = 0; plane < batch * c; plane++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    double d = diffDst[(plane * oh + y) * ow + x] / divisor(y, x);
                    for (int iy = Math.max(0, y * sh - ph); iy < Math.min(h, y * sh - ph + kh); iy++) {
                        for (int ix = Math.max(0, x * sw - pw); ix < Math.min(w, x * sw - pw + kw); ix++) {
                            diffSrc[(plane * h + iy) * w + ix] += d;
                        }
                    }
                }
            }
        }
    }
}
