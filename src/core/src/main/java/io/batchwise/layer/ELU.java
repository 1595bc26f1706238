package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Element-wise {@code x > 0 ? x : alpha * (exp(x) - 1)}. */
public record ELU(float alpha) implements Layer {
    public ELU {
        if (!Float.isFinite(alpha) || alpha < 0) {
            throw new IllegalArgumentException("ELU alpha must be finite and non-negative, got " + alpha);
        }
    }

    public ELU() {
        this(1f);
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Layer.single(inputs);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
