package io.batchwise.onednn;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.batchwise.backend.Backend;
import io.batchwise.backend.Precision;
import io.batchwise.spi.Bf16;
import io.batchwise.testkit.BackendConformanceSuite;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend conformance suite against the oneDNN backend in bf16 mixed precision, compared with the float64
 * oracle. Skipped (not failed) on a CPU without native bf16, where the backend refuses bf16 (OneDnnBf16Test).
 *
 * <p>Tolerance {@value #TOLERANCE} = 4 u, u = 2^-8 the unit roundoff of bf16 (8-bit significand, 7 bits stored:
 * rounding to nearest moves a value by at most 2^-8 of itself). On the path from the oracle's inputs to a compared
 * value there are at most three bf16 roundings that do not average out: the input or weight copy (each product
 * x_i w_i moves by at most 2u of itself), the layer's bf16 output, and the bf16 gradient of the layer after it;
 * oneDNN accumulates in f32 (n 2^-24, negligible for these n <= 300) and writes weight gradients in f32. The
 * metric divides by the tensor's largest magnitude (at least 1), and the per-product roundings of a dot product
 * are independent with zero mean, so their sum grows like sqrt(n) times a typical product, below the sqrt(n)-sized
 * largest output. 3u plus that margin: 4u = 1/64 = 0.0156. A float32 bug (a wrong index, a missed accumulation,
 * a wrong layout) gives errors of order 1, which this still catches; what it cannot catch is an error below 2%.
 */
class OneDnnBf16ConformanceTest extends BackendConformanceSuite {
    /** 4 u, u = 2^-8 (see the class comment). */
    static final double TOLERANCE = 4.0 / 256;
    private static final Backend BACKEND = new OneDnnBackend();

    @BeforeAll
    static void nativeBf16() {
        assumeTrue(OneDnnBf16.refusal(OneDnnBf16.effectiveIsa()) == null,
                () -> "no native bf16 here: " + OneDnnBf16.refusal(OneDnnBf16.effectiveIsa()));
    }

    @Override
    protected Backend backend() {
        return BACKEND;
    }

    @Override
    protected Precision precision() {
        return Precision.BF16_MIXED;
    }

    /** Inputs, weights and output gradients exactly representable in bf16 (see the suite's {@code representable}). */
    @Override
    protected float representable(float v) {
        return Bf16.round(v);
    }

    @Override
    protected double tolerance() {
        return TOLERANCE;
    }

    /**
     * 8 u = 1/32 for the composite network. There the bf16 roundings happen before a ReLU and a max-pool (conv1's
     * output before BatchNorm, the residual sum before the pool), so an element within about u of BatchNorm's mean
     * can change side of the ReLU, and two window values within u can tie in the max-pool: each moves one output
     * gradient term (at most the tensor's scale) into or out of a sum of about 700 (bn1.beta). That is a different
     * discontinuity, not a larger rounding; measured here 0.0226 for bn1.beta with everything else within 4 u.
     */
    @Override
    protected double networkTolerance() {
        return 2 * TOLERANCE;
    }
}
