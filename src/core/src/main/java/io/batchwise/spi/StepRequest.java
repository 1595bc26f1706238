package io.batchwise.spi;

/**
 * One optimizer step's samples, as a {@link GradientSource} is asked for them.
 *
 * @param step        the number of the step being computed (1 for the run's first)
 * @param epoch       the epoch it belongs to (0-based)
 * @param order       the epoch's sample order (a pure function of the seed and the epoch); not to be modified
 * @param from        the step's first position in {@code order}
 * @param count       the effective batch: samples {@code order[from .. from + count)}
 * @param scale       each sample's loss gradient is multiplied by it: {@code 1 / (count x loss terms per sample)}
 * @param dropoutSeed the step's dropout seed ({@link io.batchwise.backend.Pass#training})
 */
public record StepRequest(long step, int epoch, int[] order, int from, int count, double scale, long dropoutSeed) {
    public StepRequest {
        if (from < 0 || count <= 0 || from + count > order.length) {
            throw new IllegalArgumentException("samples [" + from + ", " + (from + count) + ") outside an order of " + order.length);
        }
    }
}
