package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Concatenation along the channel axis: {@code (C1, H, W), (C2, H, W) -> (C1 + C2, H, W)}. */
public record Concat() implements Layer {
    @Override
    public int arity() {
        return -1;
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        Shape first = inputs.get(0);
        int[] out = first.dims();
        for (int i = 1; i < inputs.size(); i++) {
            Shape s = inputs.get(i);
            boolean same = s.rank() == first.rank();
            for (int a = 1; same && a < s.rank(); a++) {
                same = s.dim(a) == first.dim(a);
            }
            if (!same) {
                throw new IllegalArgumentException("inputs must agree on every axis but the channel axis, got " + first
                        + " and " + s + " (inputs 0 and " + i + ")");
            }
            out[0] += s.dim(0);
        }
        return Shape.of(out);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
