package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Pass;
import io.batchwise.layer.Dense;

/**
 * Fully connected layer; any input shape is read flat.
 * {@code src (N, IN), weight (UNITS, IN), bias (UNITS) -> dst (N, UNITS)}, {@code dst = src . weight^T + bias}.
 */
final class RefDense extends RefOp {
    private final int in;
    private final int units;
    private final int weight;
    /** Offset of the bias, or -1 without bias. */
    private final int bias;

    RefDense(Node node, int batch, ParameterLayout layout) {
        super(node, batch);
        Dense d = (Dense) node.layer();
        this.in = node.inputShapes().get(0).sizeAsInt();
        this.units = d.units();
        this.weight = offset(layout, "weight");
        this.bias = d.bias() ? offset(layout, "bias") : -1;
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);   // (N, IN)
        double[] dst = t.dst();    // (N, UNITS)
        double[] p = t.values();   // weight (UNITS, IN) at `weight`, bias (UNITS) at `bias`
        for (int n = 0; n < batch; n++) {
            for (int o = 0; o < units; o++) {
                double acc = bias < 0 ? 0 : p[bias + o];
                int w = weight + o * in;
                int x = n * in;
                for (int i = 0; i < in; i++) {
                    acc += p[w + i] * src[x + i];
                }
                dst[n * units + o] = acc;
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] src = t.src(0);          // (N, IN)
        double[] diffDst = t.diffDst();   // (N, UNITS)
        double[] diffSrc = t.diffSrc(0);  // (N, IN) or null
        double[] p = t.values();
        double[] g = t.gradients();
        // diff_src += diff_dst . weight; diff_weight += diff_dst^T . src; diff_bias += sum over N of diff_dst
        for (int n = 0; n < batch; n++) {
            for (int o = 0; o < units; o++) {
                double dy = diffDst[n * units + o];
                if (bias >= 0) {
                    g[bias + o] += dy;
                }
                int w = weight + o * in;
                int x = n * in;
                for (int i = 0; i < in; i++) {
                    g[w + i] += dy * src[x + i];
                }
                if (diffSrc != null) {
                    for (int i = 0; i < in; i++) {
                        diffSrc[x + i] += dy * p[w + i];
                    }
                }
            }
        }
    }
}
