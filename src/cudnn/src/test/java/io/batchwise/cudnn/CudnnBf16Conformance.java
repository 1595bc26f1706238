package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.backend.Precision;
import io.batchwise.layer.Input;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.spi.Bf16;
import io.batchwise.testkit.BackendConformanceSuite;

/**
 * The conformance suite against this backend in bf16 mixed precision, compared with the float64 oracle: on the
 * plain-Java device ({@link SimulatedBf16ConformanceTest}) and on a GPU ({@link CudnnBf16ConformanceTest}).
 *
 * <p>Tolerance 4 u, u = 2^-8 (bf16's unit roundoff), with the reasoning of the oneDNN backend's bf16 suite
 * ({@code OneDnnBf16ConformanceTest}): at most three bf16 roundings on the path to a compared value that do not
 * average out (the input or weight copy, the layer's output, the gradient from the layer after it), float32
 * accumulation, a metric relative to the tensor's largest magnitude. Here convolutions' weight and bias gradients
 * and dense layers' bias gradients pass through bf16 too (cuDNN writes them in the data's type): one more rounding
 * of the result itself, u, inside the same 4 u.
 */
abstract class CudnnBf16Conformance extends BackendConformanceSuite {
    /** 4 u, u = 2^-8. */
    static final double TOLERANCE = 4.0 / 256;
    @Override
    protected Precision precision() {
        return Precision.BF16_MIXED;
    }

    /** Inputs, weights and output gradients exactly representable in bf16. */
    @Override
    protected float representable(float v) {
        return Bf16.round(v);
    }

    @Override
    protected double tolerance() {
        return TOLERANCE;
    }

    /**
     * A max-pool reading a computed bf16 activation (conv1 -> relu1 -> pool1, which oneDNN keeps in float32): rounding
     * ties window values the oracle tells apart, and cuDNN's backward sends the gradient to the first of them. Seen
     * here: three ties in relu1's bf16 output at batch 7 moved conv1's weight gradient by 0.12 of its scale. Max-pools
     * reading a graph input stay compared (the input is bf16 on both sides, so both break ties alike).
     */
    @Override
    protected String incomparable(Case c) {
        for (Node n : c.graph().nodes()) {
            if (n.layer() instanceof MaxPool2d && !(c.graph().node(n.inputs().get(0)).layer() instanceof Input)) {
                return "a max-pool over a computed bf16 activation ties values the float64 oracle tells apart";
            }
        }
        return null;
    }

    /** 8 u for the composite network: a ReLU's or max-pool's discontinuity after a bf16 rounding (see the oneDNN suite). */
    @Override
    protected double networkTolerance() {
        return 2 * TOLERANCE;
    }
}
