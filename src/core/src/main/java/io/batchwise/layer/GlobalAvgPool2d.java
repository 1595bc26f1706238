package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Mean over the spatial axes: {@code (C, H, W) -> (C)}. */
public record GlobalAvgPool2d() implements Layer {
    @Override
    public Shape outputShape(List<Shape> inputs) {
        Shape s = Layer.single(inputs);
        Layer.requireRank(s, 3, "(C, H, W)");
        return Shape.of(s.dim(0));
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
