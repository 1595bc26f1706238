package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.Pass;
import io.batchwise.layer.ELU;
import io.batchwise.layer.GELU;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Tanh;
import java.util.function.DoubleUnaryOperator;

/**
 * Element-wise activations, {@code src (N, ...) -> dst (N, ...)}: {@code dst = f(src)},
 * {@code diff_src += f'(src) * diff_dst}, with f' evaluated on the source in float64.
 * At a kink the derivative is the one of the {@code x <= 0} branch (ReLU: 0 at exactly 0).
 */
final class RefEltwise extends RefOp {
    private final DoubleUnaryOperator f;
    private final DoubleUnaryOperator df;

    RefEltwise(Node node, int batch) {
        super(node, batch);
        if (node.layer() instanceof ReLU) {
            f = x -> x > 0 ? x : 0;
            df = x -> x > 0 ? 1 : 0;
        } else if (node.layer() instanceof LeakyReLU l) {
            double slope = l.slope();
            f = x -> x > 0 ? x : slope * x;
            df = x -> x > 0 ? 1 : slope;
        } else if (node.layer() instanceof ELU e) {
            double alpha = e.alpha();
            f = x -> x > 0 ? x : alpha * Math.expm1(x);
            df = x -> x > 0 ? 1 : alpha * Math.exp(x);
        } else if (node.layer() instanceof GELU) {
            // x * Phi(x); derivative Phi(x) + x * phi(x)
            f = x -> x * RefMath.normalCdf(x);
            df = x -> RefMath.normalCdf(x) + x * RefMath.normalPdf(x);
        } else if (node.layer() instanceof Tanh) {
            f = Math::tanh;
            df = x -> {
                double y = Math.tanh(x);
                return 1 - y * y;
            };
        } else if (node.layer() instanceof Sigmoid) {
            f = RefEltwise::sigmoid;
            df = x -> {
                double y = sigmoid(x);
                return y * (1 - y);
            };
        } else {
            throw new IllegalArgumentException(node.describe() + " is not an element-wise activation");
        }
    }

    private static double sigmoid(double x) {
        // exp of a non-positive argument only: no overflow for large |x|
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);
        double[] dst = t.dst();
        for (int i = 0; i < dst.length; i++) {
            dst[i] = f.applyAsDouble(src[i]);
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] diffSrc = t.diffSrc(0);
        if (diffSrc == null) {
            return;
        }
        double[] src = t.src(0);
        double[] diffDst = t.diffDst();
        for (int i = 0; i < diffSrc.length; i++) {
            diffSrc[i] += df.applyAsDouble(src[i]) * diffDst[i];
        }
    }
}
