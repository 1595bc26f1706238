package io.batchwise.train;

/**
 * Adaptive effective batch (opt-in, {@link Trainer.Builder#adaptiveBatch}): the trainer grows the
 * effective batch during training toward the measured gradient noise scale B_simple, which
 * estimates the critical batch (McCandlish et al. 2018), as Smith et al. (2017, "Don't decay the
 * learning rate, increase the batch size") grow it instead of decaying the learning rate. The
 * micro-batch stays where memory put it; a larger batch only raises the accumulation steps k.
 *
 * <p>The rule, checked after each optimizer step once {@code interval} steps have passed since the
 * start or the last change ({@link #next}):
 * <ol>
 * <li>the target is the smoothed B_simple, capped at {@code 2 x} the current batch (one noisy
 *     estimate cannot jump the batch far) and at {@code maxBatch} (and the training-set size);</li>
 * <li>at or above one micro-batch it is rounded down to a multiple of the micro-batch, so every pass
 *     is full and needs no new plan; below one micro-batch the batch only doubles (when the target is
 *     twice the current batch), so each change compiles at most one new plan: the halves a measured
 *     single-pass step runs as are then the previous batch's size;</li>
 * <li>the batch changes when the target is at least {@code minGrowth} times the current one, or is
 *     the cap. It never shrinks: B_simple grows as the loss falls, and a shrinking batch would undo
 *     the noise reduction the growth bought.</li>
 * </ol>
 *
 * <p>Learning rate: Smith's rule. The learning rate is <b>not</b> rescaled when the batch grows, so
 * growing the batch lowers the gradient noise (SGD's noise scale is about {@code lr N / B}) the way a
 * learning-rate decay would, without a new warm-up and without the instability of raising the rate
 * mid-run (the linear rule is not sound for Adam-type optimizers either). The schedule is followed in
 * epochs rather than optimizer steps: at step {@code t} it is evaluated at {@code samples seen / initial
 * batch}, so a schedule laid over a run's epochs still ends at the end of the run although the larger
 * batches take fewer steps.
 *
 * @param maxBatch  the largest effective batch it may grow to (also capped by the training set)
 * @param interval  optimizer steps between changes, at least; also the measurements the smoothed
 *                  B_simple has before the first change
 * @param minGrowth smallest factor worth a change (&gt; 1)
 */
public record AdaptiveBatch(int maxBatch, int interval, double minGrowth) {

    public AdaptiveBatch {
        if (maxBatch <= 0) {
            throw new IllegalArgumentException("the largest adaptive batch must be positive, got " + maxBatch);
        }
        if (interval <= 0) {
            throw new IllegalArgumentException("the adaptive-batch interval must be at least 1 step, got " + interval);
        }
        if (!(minGrowth > 1 && minGrowth <= 2)) {
            throw new IllegalArgumentException("the adaptive-batch minimum growth must be in (1, 2], got " + minGrowth);
        }
    }

    /** Grow up to {@code maxBatch}: at most once every 50 steps, by at least 25% a time. */
    public static AdaptiveBatch upTo(int maxBatch) {
        return new AdaptiveBatch(maxBatch, 50, 1.25);
    }

    /**
     * The effective batch after a check: {@code current} or a larger one.
     *
     * @param current    the effective batch now
     * @param microBatch the micro-batch (memory's choice)
     * @param noiseScale the smoothed B_simple (NaN: not measured, keeps {@code current}; infinite: noise dominates, grows)
     * @param limit      the cap: {@code min(maxBatch, training-set size)}
     */
    public int next(int current, int microBatch, double noiseScale, int limit) {
        if (current >= limit || !(noiseScale > current)) {
            return current;
        }
        double capped = Math.min(noiseScale, Math.min(2.0 * current, limit));
        int target;
        if (capped >= limit) {
            target = limit;
        } else if (capped >= microBatch) {
            target = (int) (Math.floor(capped / microBatch) * microBatch);
        } else {
            target = capped >= 2.0 * current ? 2 * current : current;
        }
        return target == limit || target >= minGrowth * current ? Math.max(current, target) : current;
    }
}
