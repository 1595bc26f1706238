package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;

/** Mean over the spatial axes: {@code src (N, C, H, W) -> dst (N, C)}. */
final class RefGlobalAvgPool2d extends RefOp {
    private final int c;
    /** H * W */
    private final int s;

    RefGlobalAvgPool2d(Node node, int batch) {
        super(node, batch);
        c = node.inputShapes().get(0).dim(0);
        s = spatial(node.inputShapes().get(0));
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);  // (N, C, S)
        double[] dst = t.dst();   // (N, C)
        for (int plane = 0; plane < batch * c; plane++) {
            double sum = 0;
            for (int i = 0; i < s; i++) {
                sum += src[plane * s + i];
            }
            dst[plane] = sum / s;
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffSrc = t.diffSrc(0);  // (N, C, S)
        if (diffSrc == null) {
            return;
        }
        double[] diffDst = t.diffDst();   // (N, C)
        for (int plane = 0; plane < batch * c; plane++) {
            double d = diffDst[plane] / s;
            for (int i = 0; i < s; i++) {
                diffSrc[plane * s + i] += d;
            }
        }
    }
}
