package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Pass;
import io.batchwise.layer.Conv2d;

/**
 * 2-D cross-correlation with symmetric zero padding, stride and dilation.
 * {@code src (N, C, H, W), weight (OC, C, KH, KW), bias (OC) -> dst (N, OC, OH, OW)}:
 * <pre>
 * dst[n, oc, oh, ow] = bias[oc] + sum over (c, kh, kw) of
 *     weight[oc, c, kh, kw] * src[n, c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW]
 * </pre>
 * where a source position outside {@code [0, H) x [0, W)} reads 0 (the padding).
 */
final class RefConv2d extends RefOp {
    private final int c, h, w, oc, oh, ow;
    private final int kh, kw, sh, sw, ph, pw, dh, dw;
    private final int weight;
    /** Offset of the bias, or -1 without bias. */
    private final int bias;

    RefConv2d(Node node, int batch, ParameterLayout layout) {
        super(node, batch);
        Conv2d k = (Conv2d) node.layer();
        Shape in = node.inputShapes().get(0);
        Shape out = node.outputShape();
        c = in.dim(0);
        h = in.dim(1);
        w = in.dim(2);
        oc = out.dim(0);
        oh = out.dim(1);
        ow = out.dim(2);
        kh = k.kernelH();
        kw = k.kernelW();
        sh = k.strideH();
        sw = k.strideW();
        ph = k.padH();
        pw = k.padW();
        dh = k.dilationH();
        dw = k.dilationW();
        weight = offset(layout, "weight");
        bias = k.bias() ? offset(layout, "bias") : -1;
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);  // (N, C, H, W)
        double[] dst = t.dst();   // (N, OC, OH, OW)
        double[] p = t.values();  // weight (OC, C, KH, KW), bias (OC)
        for (int n = 0; n < batch; n++) {
            for (int o = 0; o < oc; o++) {
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        double acc = bias < 0 ? 0 : p[bias + o];
                        for (int ci = 0; ci < c; ci++) {
                            int plane = (n * c + ci) * h;       // src[n, ci, 0, 0] / W
                            int kernel = ((o * c + ci) * kh);   // weight[o, ci, 0, 0] / KW
                            for (int i = 0; i < kh; i++) {
                                int iy = y * sh - ph + i * dh;
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int j = 0; j < kw; j++) {
                                    int ix = x * sw - pw + j * dw;
                                    if (ix >= 0 && ix < w) {
                                        acc += p[weight + (kernel + i) * kw + j] * src[(plane + iy) * w + ix];
                                    }
                                }
                            }
                        }
                        dst[((n * oc + o) * oh + y) * ow + x] = acc;
                    }
                }
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] src = t.src(0);          // (N, C, H, W)
        double[] diffSrc = t.diffSrc(0);  // (N, C, H, W) or null
        double[] diffDst = t.diffDst();   // (N, OC, OH, OW)
        double[] p = t.values();
        double[] g = t.gradients();
        // Every product weight * src in forward sends diff_dst back to both factors:
        // diff_weight[o, ci, i, j] += diff_dst * src[...], diff_src[...] += diff_dst * weight[o, ci, i, j];
        // diff_bias[o] += diff_dst.
        for (int n = 0; n < batch; n++) {
            for (int o = 0; o < oc; o++) {
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        double dy = diffDst[((n * oc + o) * oh + y) * ow + x];
                        if (bias >= 0) {
                            g[bias + o] += dy;
                        }
                        for (int ci = 0; ci < c; ci++) {
                            int plane = (n * c + ci) * h;
                            int kernel = ((o * c + ci) * kh);
                            for (int i = 0; i < kh; i++) {
                                int iy = y * sh - ph + i * dh;
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int j = 0; j < kw; j++) {
                                    int ix = x * sw - pw + j * dw;
                                    if (ix >= 0 && ix < w) {
                                        int wi = weight + (kernel + i) * kw + j;
                                        int si = (plane + iy) * w + ix;
                                        g[wi] += dy * src[si];
                                        if (diffSrc != null) {
                                            diffSrc[si] += dy * p[wi];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
