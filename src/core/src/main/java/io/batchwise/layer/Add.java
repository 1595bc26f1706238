package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/** Element-wise sum of two or more inputs of one shape (residual connections). */
public record Add() implements Layer {
    @Override
    public int arity() {
        return -1;
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        Shape first = inputs.get(0);
        for (int i = 1; i < inputs.size(); i++) {
            if (!inputs.get(i).equals(first)) {
                throw new IllegalArgumentException("inputs must have one shape, got " + first + " and " + inputs.get(i)
                        + " (inputs 0 and " + i + ")");
            }
        }
        return first;
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
