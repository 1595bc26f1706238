package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/**
 * Inverted dropout: in training each element is kept with probability {@code 1 - rate} and
 * scaled by {@code 1 / (1 - rate)}; inference is the identity. The mask of an element depends
 * only on (step seed, node, global sample index, element index) through {@link DropoutMask},
 * never on how the effective batch is split into micro-batches.
 */
public record Dropout(float rate) implements Layer {
    public Dropout {
        if (!(rate >= 0 && rate < 1)) {
            throw new IllegalArgumentException("Dropout rate must be in [0, 1), got " + rate);
        }
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Layer.single(inputs);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
