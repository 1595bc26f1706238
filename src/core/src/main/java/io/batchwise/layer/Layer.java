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
