package io.batchwise.backend;

/**
 * How a forward pass runs.
 *
 * @param training    true: batch statistics in BatchNorm (running statistics updated), dropout on
 * @param seed        the step's dropout seed
 * @param firstSample global index of the micro-batch's first sample in the effective batch, so that
 *                    dropout masks do not depend on how the batch was split
 */
public record Pass(boolean training, long seed, long firstSample) {
    public static Pass inference() {
        return new Pass(false, 0, 0);
    }

    public static Pass training(long seed, long firstSample) {
        return new Pass(true, seed, firstSample);
    }
}
