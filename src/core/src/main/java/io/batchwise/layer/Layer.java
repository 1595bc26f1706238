package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/**
 * An immutable layer specification. A spec holds hyper-parameters only; its parameters' values
 * live in a backend's memory, its running statistics travel as explicit state.
 *
 * <p>Shapes are per sample (no batch axis). {@link #outputShape} validates the inputs and
 * throws {@link IllegalArgumentException} with a message that names the expected and actual
 * shapes; the graph prefixes it with the node's name.
 */
public sealed interface Layer
        permits Input, Dense, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten,
                ReLU, LeakyReLU, ELU, GELU, Tanh, Sigmoid, Softmax,
                BatchNorm, Dropout, Add, Concat {

    /** Number of inputs this layer takes; -1 means two or more. */
    default int arity() {
        return 1;
    }

    /** The per-sample output shape for these per-sample input shapes. */
    Shape outputShape(List<Shape> inputs);

    /** Trainable parameters and non-trainable state, in a fixed order. */
    default List<ParamSpec> params(List<Shape> inputs) {
        return List.of();
    }

    /** {@code visitor}'s method for this layer's type: dispatch over the closed set of layers without a default case. */
    <R> R accept(Visitor<R> visitor);

    /**
     * One method per layer type. Backends dispatch through it instead of {@code instanceof} ladders, so a
     * new layer type (a new method here) does not compile until every backend handles it.
     */
    interface Visitor<R> {
        R visit(Input layer);

        R visit(Dense layer);

        R visit(Conv2d layer);

        R visit(MaxPool2d layer);

        R visit(AvgPool2d layer);

        R visit(GlobalAvgPool2d layer);

        R visit(Flatten layer);

        R visit(ReLU layer);

        R visit(LeakyReLU layer);

        R visit(ELU layer);

        R visit(GELU layer);

        R visit(Tanh layer);

        R visit(Sigmoid layer);

        R visit(Softmax layer);

        R visit(BatchNorm layer);

        R visit(Dropout layer);

        R visit(Add layer);

        R visit(Concat layer);
    }

    /** Short type name used in messages and plans, e.g. {@code Conv2d}. */
    default String typeName() {
        return getClass().getSimpleName();
    }

    static Shape single(List<Shape> inputs) {
        return inputs.get(0);
    }

    static void requireRank(Shape s, int rank, String what) {
        if (s.rank() != rank) {
            throw new IllegalArgumentException("expects " + what + " of rank " + rank + ", got input shape " + s);
        }
    }
}
