package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;

/**
 * Concatenation along the channel axis:
 * {@code src_k (N, C_k, S) -> dst (N, C_0 + ... + C_k, S)} with S the spatial size (1 for {@code (C)}).
 * Input k fills channels {@code [C_0 + ... + C_{k-1}, ... + C_k)}; backward slices them back.
 */
final class RefConcat extends RefOp {
    /** Elements per sample of each input: C_k * S. */
    private final int[] inSizes;
    /** Elements per sample of the output. */
    private final int outSize;

    RefConcat(Node node, int batch) {
        super(node, batch);
        inSizes = node.inputShapes().stream().mapToInt(io.batchwise.Shape::sizeAsInt).toArray();
        outSize = node.outputShape().sizeAsInt();
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] dst = t.dst();
        for (int n = 0; n < batch; n++) {
            int at = n * outSize;
            for (int k = 0; k < inSizes.length; k++) {
                System.arraycopy(t.src(k), n * inSizes[k], dst, at, inSizes[k]);
                at += inSizes[k];
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffDst = t.diffDst();
        for (int n = 0; n < batch; n++) {
            int at = n * outSize;
            for (int k = 0; k < inSizes.length; k++) {
                double[] diffSrc = t.diffSrc(k);
                if (diffSrc != null) {
                    for (int i = 0; i < inSizes[k]; i++) {
                        diffSrc[n * inSizes[k] + i] += diffDst[at + i];
                    }
                }
                at += inSizes[k];
            }
        }
    }
}
