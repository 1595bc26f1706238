package io.batchwise.loss;

/**
 * What one batch contributed: the summed loss, its number of terms, and (for classification)
 * the number of samples whose arg-max matched the label. Results of micro-batches add up.
 */
public record LossResult(double sum, long terms, long samples, long correct) {
    public static final LossResult ZERO = new LossResult(0, 0, 0, 0);

    public LossResult plus(LossResult o) {
        return new LossResult(sum + o.sum, terms + o.terms, samples + o.samples, correct + o.correct);
    }

    /** Mean loss per term. */
    public double mean() {
        return terms == 0 ? Double.NaN : sum / terms;
    }

    public double accuracy() {
        return samples == 0 ? Double.NaN : (double) correct / samples;
    }
}
