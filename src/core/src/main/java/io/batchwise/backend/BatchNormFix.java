package io.batchwise.backend;

/**
 * Statistics a BatchNorm node uses in training passes instead of its micro-batch's: exact
 * BatchNorm over an effective batch that runs as several micro-batches (the trainer's
 * {@code BatchNormMode.EXACT}). Arrays hold one value per channel.
 *
 * <p>Forward normalises with {@code mean} and the biased {@code variance} of the effective batch
 * and leaves the running statistics alone (the trainer moves them once per effective batch).
 * Backward, given the effective batch's {@code sumDy = sum diff_dst} and
 * {@code sumDyXhat = sum diff_dst * xhat} over its {@code count} values per channel,
 * differentiates through the effective batch's statistics:
 * {@code diff_src = gamma * invstd * (diff_dst - sumDy / count - xhat * sumDyXhat / count)};
 * without them (null) through the micro-batch's own sums, as an ordinary training pass does.
 * {@code diff_gamma} and {@code diff_beta} are the micro-batch's sums either way.
 */
public record BatchNormFix(double[] mean, double[] variance, double[] sumDy, double[] sumDyXhat, long count) {
    public BatchNormFix {
        if (mean.length != variance.length || (sumDy == null) != (sumDyXhat == null)
                || (sumDy != null && (sumDy.length != mean.length || sumDyXhat.length != mean.length))) {
            throw new IllegalArgumentException("BatchNormFix: per-channel arrays of different lengths");
        }
    }

    /** Statistics only: backward through the micro-batch's sums. */
    public static BatchNormFix statistics(double[] mean, double[] variance) {
        return new BatchNormFix(mean, variance, null, null, 0);
    }

    /** Whether backward uses the effective batch's sums. */
    public boolean corrects() {
        return sumDy != null;
    }
}
