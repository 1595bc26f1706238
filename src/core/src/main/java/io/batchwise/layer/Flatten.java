package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** {@code (C, H, W) -> (C * H * W)}: the same bytes, a new shape. */
public record Flatten() implements Layer {
    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Shape.of(Layer.single(inputs).sizeAsInt());
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
