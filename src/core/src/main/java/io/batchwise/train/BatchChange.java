package io.batchwise.train;

/**
 * The effective batch changed (an {@link AdaptiveBatch} grew it); it applies from step {@code step + 1}.
 *
 * @param step         optimizer steps taken when it changed
 * @param epoch        epoch, from 0
 * @param samples      samples seen in the run when it changed
 * @param from         the effective batch until now
 * @param to           the effective batch from the next step
 * @param microBatch   samples per forward/backward pass (unchanged)
 * @param accumulationSteps micro-batches per step from now: {@code ceil(to / microBatch)}
 * @param noiseScale   the smoothed B_simple that motivated it
 */
public record BatchChange(long step, int epoch, long samples, int from, int to, int microBatch, int accumulationSteps,
                          double noiseScale) {

    /** One line for a log. */
    public String describe() {
        String passes = to <= microBatch ? "one pass" : accumulationSteps + " x " + microBatch;
        return String.format(java.util.Locale.ROOT, "effective batch %d -> %d (%s) after step %d: smoothed B_simple %.0f", from,
                to, passes, step, noiseScale);
    }
}
