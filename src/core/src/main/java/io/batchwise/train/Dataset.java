package io.batchwise.train;

import io.batchwise.Shape;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.Targets;

/** Samples addressed by index: inputs of one per-sample shape, and their targets. */
public interface Dataset {

    int size();

    /** Per-sample input shape, e.g. {@code (1, 28, 28)}. */
    Shape sampleShape();

    /** Copies the inputs of samples {@code indices[from..from+count)} into {@code dst}, sample-major. */
    void copyInputs(int[] indices, int from, int count, float[] dst);

    /**
     * Writes the inputs of samples {@code indices[from..from+count)} into {@code dst} ({@code (count, ...)},
     * sample-major), using {@code staging} (at least {@code count} samples long) where a copy is needed on the way.
     * The default gathers into {@code staging} and writes it in one piece (one transfer to a device).
     */
    default void copyInputs(int[] indices, int from, int count, Tensor dst, float[] staging) {
        copyInputs(indices, from, count, staging);
        dst.write(0, staging, 0, count * sampleShape().sizeAsInt());
    }

    /** The targets of samples {@code indices[from..from+count)}. */
    Targets targets(int[] indices, int from, int count);

    /**
     * The order in which a shuffling trainer seeded with {@code seed} visits the samples in {@code epoch} (a
     * permutation of {@code 0..size()-1}), or null (the default) for the trainer's own shuffle of all samples. A source
     * that reads sequentially returns an order that keeps its reads local ({@code io.batchwise.data.ShardedDataset}).
     * Must be a pure function of (seed, epoch): a resumed run recomputes it and continues at the same position.
     */
    default int[] epochOrder(long seed, int epoch) {
        return null;
    }
}
