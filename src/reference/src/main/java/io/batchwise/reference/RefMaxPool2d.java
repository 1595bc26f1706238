package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.Pass;
import io.batchwise.layer.MaxPool2d;
import java.util.List;

/**
 * Max pooling. {@code src (N, C, H, W) -> dst (N, C, OH, OW)}; window {@code (oh, ow)} covers rows
 * {@code oh*SH - PH .. + KH - 1} and columns {@code ow*SW - PW .. + KW - 1}. Padded positions never
 * win; among equal maxima the first in row-major window order wins. Forward records the winner's
 * index into {@code src} in the workspace {@code argmax (N, C, OH, OW)}; backward routes each
 * gradient there.
 */
final class RefMaxPool2d extends RefOp {
    private final int c, h, w, oh, ow, kh, kw, sh, sw, ph, pw;

    RefMaxPool2d(Node node, int batch) {
        super(node, batch);
        MaxPool2d m = (MaxPool2d) node.layer();
        Shape in = node.inputShapes().get(0);
        c = in.dim(0);
        h = in.dim(1);
        w = in.dim(2);
        oh = node.outputShape().dim(1);
        ow = node.outputShape().dim(2);
        kh = m.kernelH();
        kw = m.kernelW();
        sh = m.strideH();
        sw = m.strideW();
        ph = m.padH();
        pw = m.padW();
    }

    @Override
    List<Workspace> workspaces() {
        return List.of(new Workspace("argmax", batch * c * oh * ow, true));
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);          // (N, C, H, W)
        double[] dst = t.dst();           // (N, C, OH, OW)
        int[] argmax = t.indices("argmax"); // (N, C, OH, OW), null in inference plans
        for (int plane = 0; plane < batch * c; plane++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    double max = Double.NEGATIVE_INFINITY;
                    int at = -1;
                    for (int iy = y * sh - ph; iy < y * sh - ph + kh; iy++) {
                        for (int ix = x * sw - pw; ix < x * sw - pw + kw; ix++) {
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                int si = (plane * h + iy) * w + ix;
                                if (at < 0 || src[si] > max) { // strict: the first maximum wins
                                    max = src[si];
                                    at = si;
                                }
                            }
                        }
                    }
                    int di = (plane * oh + y) * ow + x;
                    dst[di] = max;
                    if (argmax != null) {
                        argmax[di] = at;
                    }
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
        int[] argmax = t.indices("argmax");
        for (int i = 0; i < diffDst.length; i++) {
            diffSrc[argmax[i]] += diffDst[i];
        }
    }
}
