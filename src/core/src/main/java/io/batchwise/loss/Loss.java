package io.batchwise.loss;

import io.batchwise.Shape;

/**
 * A loss reported as a <em>sum</em> over its terms, so that gradient accumulation normalises
 * once: the trainer passes {@code scale = 1 / (terms in the whole effective batch)} and the
 * micro-batch gradients add up to the gradient of the mean over the effective batch.
 */
public sealed interface Loss permits SoftmaxCrossEntropy, MeanSquaredError {

    /** Loss terms one sample contributes: 1 for cross-entropy, every output element for MSE. */
    long termsPerSample(Shape outputShape);

    /** Checks that targets suit this loss and an output of this per-sample shape. */
    void checkTargets(Shape outputShape, Targets targets);
}
