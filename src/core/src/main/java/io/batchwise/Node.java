package io.batchwise;

import io.batchwise.layer.Layer;
import io.batchwise.layer.ParamSpec;
import java.util.List;

/**
 * A node of a built, validated graph.
 *
 * @param index       position in topological order
 * @param name        unique name, used in messages, plans and checkpoints
 * @param layer       the immutable layer spec
 * @param inputs      names of the nodes it reads
 * @param inputShapes per-sample shapes of those inputs
 * @param outputShape per-sample shape it produces
 * @param params      its parameters and state, in the layer's order
 */
public record Node(int index, String name, Layer layer, List<String> inputs, List<Shape> inputShapes,
                   Shape outputShape, List<ParamSpec> params) {
    public Node {
        inputs = List.copyOf(inputs);
        inputShapes = List.copyOf(inputShapes);
        params = List.copyOf(params);
    }

    /** e.g. {@code 'conv1' (Conv2d)}. */
    public String describe() {
        return "'" + name + "' (" + layer.typeName() + ")";
    }
}
