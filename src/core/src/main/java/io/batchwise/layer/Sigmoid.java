package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Element-wise {@code 1 / (1 + exp(-x))}; output shape = input shape. */
public record Sigmoid() implements Layer {
    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Layer.single(inputs);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
