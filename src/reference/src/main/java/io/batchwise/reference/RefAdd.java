package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;

/** {@code src_0 (N, ...) + ... + src_k (N, ...) -> dst (N, ...)}; every input's gradient is diff_dst. */
final class RefAdd extends RefOp {
    RefAdd(Node node, int batch) {
        super(node, batch);
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] dst = t.dst();
        java.util.Arrays.fill(dst, 0);
        for (int k = 0; k < t.src.length; k++) {
            double[] src = t.src(k);
            for (int i = 0; i < dst.length; i++) {
                dst[i] += src[i];
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffDst = t.diffDst();
        for (int k = 0; k < t.src.length; k++) {
            double[] diffSrc = t.diffSrc(k);
            if (diffSrc != null) {
                for (int i = 0; i < diffSrc.length; i++) {
                    diffSrc[i] += diffDst[i];
                }
            }
        }
    }
}
