package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** {@code (C, H, W) -> (C * H * W)}: the same bytes, a new shape. */
public record Flatten() implements Layer {
    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Shape.of(Layer.single(inputs).sizeAsInt());
    }
}
