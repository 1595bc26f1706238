package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Element-wise {@code x > 0 ? x : slope * x}. */
public record LeakyReLU(float slope) implements Layer {
    public LeakyReLU {
        if (!Float.isFinite(slope)) {
            throw new IllegalArgumentException("LeakyReLU slope must be finite, got " + slope);
        }
    }

    /** PyTorch's default slope 0.01. */
    public LeakyReLU() {
        this(0.01f);
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Layer.single(inputs);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
