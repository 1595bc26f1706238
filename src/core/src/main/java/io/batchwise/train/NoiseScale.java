package io.batchwise.train;

/**
 * The simple gradient noise scale {@code B_simple = tr(Sigma) / |G|^2} of McCandlish et al. (2018,
 * "An Empirical Model of Large-Batch Training"), which predicts the critical batch size, estimated
 * from gradients measured at two batch sizes (their appendix A.1). Under gradient accumulation the
 * first micro-batch's gradient ({@code b} samples) and the accumulated one ({@code B} samples) are
 * exactly those two, so each step yields one pair for the cost of one extra norm:
 * <pre>
 * |G|^2     ~ (B |G_B|^2 - b |G_b|^2) / (B - b)
 * tr(Sigma) ~ (|G_b|^2 - |G_B|^2) / (1/b - 1/B)
 * </pre>
 * Both are unbiased but noisy per step; each is smoothed with an exponential moving average
 * before dividing, as the paper recommends. Not thread-safe.
 */
public final class NoiseScale {
    private final double decay;
    private double gradSquared;
    private double trace;
    private double weight; // bias correction of the two averages, as in Adam
    private long samples;

    /** @param decay the moving averages' decay per measurement, in [0, 1); e.g. 0.95 */
    public NoiseScale(double decay) {
        if (!(decay >= 0 && decay < 1)) {
            throw new IllegalArgumentException("decay must be in [0, 1), got " + decay);
        }
        this.decay = decay;
    }

    /**
     * Adds one measurement: squared norms of mean-loss gradients over {@code small} and {@code big}
     * samples ({@code small < big}), taken at the same weights.
     */
    public void add(double smallNormSquared, int small, double bigNormSquared, int big) {
        if (small <= 0 || big <= small) {
            throw new IllegalArgumentException("needs 0 < small < big, got " + small + " and " + big);
        }
        double g2 = (big * bigNormSquared - small * smallNormSquared) / (big - small);
        double tr = (smallNormSquared - bigNormSquared) / (1.0 / small - 1.0 / big);
        gradSquared = decay * gradSquared + (1 - decay) * g2;
        trace = decay * trace + (1 - decay) * tr;
        weight = decay * weight + (1 - decay);
        samples++;
    }

    /** Smoothed estimate of {@code |G|^2}; NaN before the first measurement. */
    public double gradientNormSquared() {
        return samples == 0 ? Double.NaN : gradSquared / weight;
    }

    /** Smoothed estimate of {@code tr(Sigma)}, the per-sample gradient variance; NaN before the first measurement. */
    public double traceCovariance() {
        return samples == 0 ? Double.NaN : trace / weight;
    }

    /** {@code B_simple}; NaN until measured, infinite while the smoothed |G|^2 is not positive. */
    public double simple() {
        if (samples == 0) {
            return Double.NaN;
        }
        double g2 = gradientNormSquared();
        return g2 > 0 ? traceCovariance() / g2 : Double.POSITIVE_INFINITY;
    }

    /** Measurements so far. */
    public long count() {
        return samples;
    }

    /** The decay it was built with. */
    public double decay() {
        return decay;
    }

    // --- package-private: the state a checkpoint keeps, so a resumed run measures on exactly as before ---

    double[] state() {
        return new double[] {gradSquared, trace, weight, samples};
    }

    void state(double[] s) {
        gradSquared = s[0];
        trace = s[1];
        weight = s[2];
        samples = (long) s[3];
    }

    void reset() {
        state(new double[4]);
    }
}
