package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;
import java.util.Objects;

/** A graph input of a fixed per-sample shape, e.g. {@code (1, 28, 28)}. */
public record Input(Shape shape) implements Layer {
    public Input {
        Objects.requireNonNull(shape, "shape");
    }

    @Override
    public int arity() {
        return 0;
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return shape;
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
