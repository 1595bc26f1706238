package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/**
 * Batch normalisation over the channel axis: 1d for {@code (C)} inputs, 2d for {@code (C, H, W)}.
 *
 * <p>Training: normalise with the statistics of the batch the layer sees (biased variance), then
 * update the running statistics as PyTorch does:
 * {@code running = (1 - momentum) * running + momentum * batchStat}, with the unbiased variance
 * (n / (n - 1)) in the running variance. Inference: normalise with the running statistics.
 * Parameters {@code gamma (C)} (init 1), {@code beta (C)} (init 0); state
 * {@code runningMean (C)} (init 0), {@code runningVar (C)} (init 1).
 */
public record BatchNorm(float epsilon, float momentum) implements Layer {
    public BatchNorm {
        if (!(epsilon > 0) || !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("BatchNorm needs epsilon > 0 and momentum in [0, 1], got epsilon "
                    + epsilon + ", momentum " + momentum);
        }
    }

    /** PyTorch's defaults: epsilon 1e-5, momentum 0.1. */
    public BatchNorm() {
        this(1e-5f, 0.1f);
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        Shape s = Layer.single(inputs);
        if (s.rank() != 1 && s.rank() != 3) {
            throw new IllegalArgumentException("expects (C) for 1d or (C, H, W) for 2d, got input shape " + s);
        }
        return s;
    }

    @Override
    public List<ParamSpec> params(List<Shape> inputs) {
        Shape c = Shape.of(inputs.get(0).dim(0));
        return List.of(
                new ParamSpec("gamma", c, Init.constant(1f), true),
                new ParamSpec("beta", c, Init.zeros(), true),
                new ParamSpec("runningMean", c, Init.zeros(), false),
                new ParamSpec("runningVar", c, Init.constant(1f), false));
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
