package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Fully connected layer: {@code dst = src . weight^T + bias}. Any input shape is read as a flat
 * vector of {@code in = prod(shape)} features (no separate Flatten copy needed).
 * Weight {@code (units, in)}, bias {@code (units)}; output {@code (units)}.
 */
public record Dense(int units, boolean bias, Init weightInit, Init biasInit) implements Layer {
    public Dense {
        if (units <= 0) {
            throw new IllegalArgumentException("Dense units must be positive, got " + units);
        }
        Objects.requireNonNull(weightInit, "weightInit");
        Objects.requireNonNull(biasInit, "biasInit");
    }

    /** He-uniform weights and zero bias. */
    public Dense(int units) {
        this(units, true, Init.heUniform(), Init.zeros());
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Shape.of(units);
    }

    @Override
    public List<ParamSpec> params(List<Shape> inputs) {
        int in = inputs.get(0).sizeAsInt();
        List<ParamSpec> p = new ArrayList<>();
        p.add(new ParamSpec("weight", Shape.of(units, in), weightInit, true));
        if (bias) {
            p.add(new ParamSpec("bias", Shape.of(units), biasInit, true));
        }
        return p;
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
