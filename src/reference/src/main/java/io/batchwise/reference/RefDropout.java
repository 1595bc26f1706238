package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.DropoutMask;
import java.util.List;

/**
 * Inverted dropout, {@code src (N, E) -> dst (N, E)} with E the elements per sample. In a
 * training pass element e of sample n is kept iff
 * {@code DropoutMask.keep(nodeKey(seed, node), pass.sample(n), e, rate)} and kept values are
 * scaled by {@code 1 / (1 - rate)}; the workspace {@code mask (N, E)} holds 1 (kept) or 0 for
 * backward. An inference pass is the identity.
 */
final class RefDropout extends RefOp {
    private final double rate;
    private final double scale;
    private final int e;

    RefDropout(Node node, int batch) {
        super(node, batch);
        rate = ((Dropout) node.layer()).rate();
        scale = 1 / (1 - rate);
        e = node.outputShape().sizeAsInt();
    }

    @Override
    List<Workspace> workspaces() {
        return List.of(new Workspace("mask", batch * e, false));
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);
        double[] dst = t.dst();
        if (!pass.training()) {
            System.arraycopy(src, 0, dst, 0, dst.length);
            return;
        }
        RefTensor maskTensor = t.workspace("mask"); // null in inference plans
        double[] mask = maskTensor == null ? null : maskTensor.data;
        long key = DropoutMask.nodeKey(pass.seed(), node.name());
        for (int n = 0; n < batch; n++) {
            for (int i = 0; i < e; i++) {
                boolean keep = DropoutMask.keep(key, pass.sample(n), i, (float) rate);
                dst[n * e + i] = keep ? src[n * e + i] * scale : 0;
                if (mask != null) {
                    mask[n * e + i] = keep ? 1 : 0;
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
        double[] diffDst = t.diffDst();
        double[] mask = t.workspace("mask").data;
        for (int i = 0; i < diffSrc.length; i++) {
            diffSrc[i] += training ? mask[i] * scale * diffDst[i] : diffDst[i];
        }
    }
}
