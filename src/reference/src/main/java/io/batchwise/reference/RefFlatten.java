package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;

/** {@code src (N, C, H, W) -> dst (N, C*H*W)}: the same values in the same order. */
final class RefFlatten extends RefOp {
    RefFlatten(Node node, int batch) {
        super(node, batch);
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        System.arraycopy(t.src(0), 0, t.dst(), 0, t.dst().length);
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffSrc = t.diffSrc(0);
        if (diffSrc == null) {
            return;
        }
        double[] diffDst = t.diffDst();
        for (int i = 0; i < diffSrc.length; i++) {
            diffSrc[i] += diffDst[i];
        }
    }
}
