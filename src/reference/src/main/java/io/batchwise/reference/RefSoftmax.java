package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;

/**
 * Softmax over the channel axis at every spatial position:
 * {@code src (N, C, S) -> dst (N, C, S)} with S = H * W (S = 1 for a {@code (C)} input),
 * {@code dst[n, c, s] = exp(src[n, c, s]) / sum over c' of exp(src[n, c', s])}.
 * Backward: {@code diff_src = dst * (diff_dst - sum over c of diff_dst * dst)}.
 */
final class RefSoftmax extends RefOp {
    private final int c;
    private final int s;

    RefSoftmax(Node node, int batch) {
        super(node, batch);
        c = node.outputShape().dim(0);
        s = spatial(node.outputShape());
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);
        double[] dst = t.dst();
        for (int n = 0; n < batch; n++) {
            for (int p = 0; p < s; p++) {
                int base = n * c * s + p; // element (n, 0, p); channels are s apart
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < c; k++) {
                    max = Math.max(max, src[base + k * s]);
                }
                double sum = 0;
                for (int k = 0; k < c; k++) {
                    double e = Math.exp(src[base + k * s] - max);
                    dst[base + k * s] = e;
                    sum += e;
                }
                for (int k = 0; k < c; k++) {
                    dst[base + k * s] /= sum;
                }
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffSrc = t.diffSrc(0);
        if (diffSrc == null) {
            return;
        }
        double[] dst = t.dst();
        double[] diffDst = t.diffDst();
        for (int n = 0; n < batch; n++) {
            for (int p = 0; p < s; p++) {
                int base = n * c * s + p;
                double dot = 0;
                for (int k = 0; k < c; k++) {
                    dot += diffDst[base + k * s] * dst[base + k * s];
                }
                for (int k = 0; k < c; k++) {
                    diffSrc[base + k * s] += dst[base + k * s] * (diffDst[base + k * s] - dot);
                }
            }
        }
    }
}
