package io.batchwise.loss;

import io.batchwise.Shape;

/**
 * Squared error summed over every output element: {@code l = sum (z - t)^2}, gradient
 * {@code 2 (z - t)}. Its mean divides by all elements of the effective batch, as PyTorch's
 * {@code MSELoss(reduction='mean')} does.
 */
public record MeanSquaredError() implements Loss {
    @Override
    public long termsPerSample(Shape outputShape) {
        return outputShape.size();
    }

    @Override
    public void checkTargets(Shape outputShape, Targets targets) {
        if (!(targets instanceof Targets.Values v)) {
            throw new IllegalArgumentException("mean squared error needs target values, got " + targets.getClass().getSimpleName());
        }
        if (!v.sampleShape().equals(outputShape)) {
            throw new IllegalArgumentException("target shape " + v.sampleShape() + " differs from output shape " + outputShape);
        }
    }
}
