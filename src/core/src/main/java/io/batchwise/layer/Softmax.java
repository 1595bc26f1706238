package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/**
 * Softmax over the channel / feature axis (axis 0 of the per-sample shape, axis 1 of the
 * batched tensor), independently at every spatial position. For training a classifier, feed
 * logits to the softmax cross-entropy loss instead: it is fused and numerically safer.
 */
public record Softmax() implements Layer {
    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Layer.single(inputs);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
