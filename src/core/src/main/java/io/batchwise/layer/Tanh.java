package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Element-wise {@code tanh(x)}; output shape = input shape. */
public record Tanh() implements Layer {
    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Layer.single(inputs);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
