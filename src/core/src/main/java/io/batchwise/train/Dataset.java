package io.batchwise.train;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;

/** Samples addressed by index: inputs of one per-sample shape, and their targets. */
public interface Dataset {

    int size();

    /** Per-sample input shape, e.g. {@code (1, 28, 28)}. */
    Shape sampleShape();

    /** Copies the inputs of samples {@code indices[from..from+count)} into {@code dst}, sample-major. */
    void copyInputs(int[] indices, int from, int count, float[] dst);

    /** The targets of samples {@code indices[from..from+count)}. */
    Targets targets(int[] indices, int from, int count);
}
