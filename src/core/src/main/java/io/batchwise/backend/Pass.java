package io.batchwise.backend;

/**
 * How a forward pass runs.
 *
 * @param training    true: batch statistics in BatchNorm (running statistics updated), dropout on
 * @param seed        the step's dropout seed
 * @param firstSample global index of the micro-batch's first sample in the effective batch, so that
 *                    dropout masks do not depend on how the batch was split
 * @param samples     null when the micro-batch's samples are contiguous in the effective batch (positions
 *                    {@code firstSample, firstSample + 1, ...}); else the position of each of them, ascending (a
 *                    worker's share of a step split over several machines, as batchwise-spark runs it)
 */
public record Pass(boolean training, long seed, long firstSample, long[] samples) {
    public Pass(boolean training, long seed, long firstSample) {
        this(training, seed, firstSample, null);
    }

    public static Pass inference() {
        return new Pass(false, 0, 0);
    }

    public static Pass training(long seed, long firstSample) {
        return new Pass(true, seed, firstSample);
    }

    /**
     * A training pass over samples at the given positions in the effective batch (ascending): the masks are those the
     * samples get in a pass over the whole batch. Contiguous positions give the plain {@link #training(long, long)}.
     */
    public static Pass training(long seed, long[] samples) {
        if (samples.length == 0) {
            throw new IllegalArgumentException("a pass needs at least one sample");
        }
        boolean contiguous = true;
        for (int i = 1; i < samples.length && contiguous; i++) {
            contiguous = samples[i] == samples[0] + i;
        }
        return contiguous ? training(seed, samples[0]) : new Pass(true, seed, samples[0], samples.clone());
    }

    /** Whether the samples are contiguous in the effective batch (a backend may then key by {@link #firstSample}). */
    public boolean contiguous() {
        return samples == null;
    }

    /** Position in the effective batch of the pass's sample {@code n}: what its dropout mask is keyed by. */
    public long sample(long n) {
        return samples == null ? firstSample + n : samples[Math.toIntExact(n)];
    }
}
