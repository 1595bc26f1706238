package io.batchwise;

import io.batchwise.layer.Input;
import io.batchwise.layer.Layer;
import io.batchwise.layer.ParamSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An immutable, validated layer graph (a DAG in topological order) with one output node.
 * Shapes are inferred through the whole graph when it is built, so a mistake is reported
 * before any backend sees it, naming the node and the shapes.
 *
 * <pre>{@code
 * Graph g = Graph.builder()
 *     .input("x", Shape.of(1, 28, 28))
 *     .then("conv1", Conv2d.of(6, 5)).then("relu1", new ReLU())
 *     .then("pool1", MaxPool2d.of(2))
 *     .then("fc", new Dense(10))
 *     .build();
 * }</pre>
 */
public final class Graph {
    private final List<Node> nodes;
    private final Map<String, Node> byName;
    private final Node output;

    private Graph(List<Node> nodes, Node output) {
        this.nodes = List.copyOf(nodes);
        Map<String, Node> m = new LinkedHashMap<>();
        for (Node n : nodes) {
            m.put(n.name(), n);
        }
        this.byName = Collections.unmodifiableMap(m);
        this.output = output;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** All nodes in topological order, inputs included. */
    public List<Node> nodes() {
        return nodes;
    }

    public Node node(String name) {
        Node n = byName.get(name);
        if (n == null) {
            throw new IllegalArgumentException("no node named '" + name + "'; nodes: " + byName.keySet());
        }
        return n;
    }

    /** The input nodes, in the order they were declared. */
    public List<Node> inputs() {
        return nodes.stream().filter(n -> n.layer() instanceof Input).toList();
    }

    public Node output() {
        return output;
    }

    /** Nodes that read {@code name}'s output. */
    public List<Node> consumers(String name) {
        return nodes.stream().filter(n -> n.inputs().contains(name)).toList();
    }

    /** Number of trainable parameter elements. */
    public long parameterCount() {
        long n = 0;
        for (Node node : nodes) {
            for (ParamSpec p : node.params()) {
                if (p.trainable()) {
                    n += p.shape().size();
                }
            }
        }
        return n;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Node n : nodes) {
            sb.append(String.format("%-16s %-16s %-20s <- %s%n", n.name(), n.layer().typeName(), n.outputShape(), n.inputs()));
        }
        return sb.toString();
    }

    /**
     * Builds graphs. {@link #then} appends a layer fed by the previous node (sequential models);
     * {@link #add} names its inputs explicitly (residual add, concat). Nodes must be declared after
     * their inputs, so the declaration order is a topological order.
     */
    public static final class Builder {
        private record Decl(String name, Layer layer, List<String> inputs) {
        }

        private final List<Decl> decls = new ArrayList<>();
        private String outputName;

        private Builder() {
        }

        public Builder input(String name, Shape shape) {
            return add(name, new Input(shape));
        }

        /** Appends {@code layer}, fed by the node declared last. */
        public Builder then(String name, Layer layer) {
            if (decls.isEmpty()) {
                throw new IllegalStateException("declare an input before '" + name + "'");
            }
            return add(name, layer, decls.get(decls.size() - 1).name());
        }

        /** Appends {@code layer} with an automatic name such as {@code dense3}. */
        public Builder then(Layer layer) {
            return then(layer.typeName().toLowerCase() + decls.size(), layer);
        }

        /** Adds a node reading the named inputs. */
        public Builder add(String name, Layer layer, String... inputs) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(layer, "layer");
            decls.add(new Decl(name, layer, Arrays.asList(inputs.clone())));
            return this;
        }

        /** Chooses the output node; by default the node declared last. */
        public Builder output(String name) {
            this.outputName = name;
            return this;
        }

        /** Validates names, arities and shapes, and infers every node's output shape. */
        public Graph build() {
            if (decls.isEmpty()) {
                throw new IllegalStateException("a graph needs at least one input");
            }
            Map<String, Node> built = new LinkedHashMap<>();
            List<Node> nodes = new ArrayList<>();
            for (Decl d : decls) {
                String who = "node '" + d.name + "' (" + d.layer.typeName() + ")";
                if (built.containsKey(d.name)) {
                    throw new IllegalArgumentException(who + ": the name is already used");
                }
                int arity = d.layer.arity();
                int n = d.inputs.size();
                if (arity >= 0 ? n != arity : n < 2) {
                    throw new IllegalArgumentException(who + ": takes " + (arity >= 0 ? String.valueOf(arity) : "two or more")
                            + " inputs, got " + n + " " + d.inputs);
                }
                List<Shape> inShapes = new ArrayList<>();
                for (String in : d.inputs) {
                    Node src = built.get(in);
                    if (src == null) {
                        throw new IllegalArgumentException(who + ": input '" + in + "' is not declared before it");
                    }
                    inShapes.add(src.outputShape());
                }
                Shape out;
                List<ParamSpec> params;
                try {
                    out = d.layer.outputShape(inShapes);
                    params = d.layer.params(inShapes);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(who + ": " + e.getMessage(), e);
                }
                Node node = new Node(nodes.size(), d.name, d.layer, d.inputs, inShapes, out, params);
                built.put(d.name, node);
                nodes.add(node);
            }
            Node output = outputName == null ? nodes.get(nodes.size() - 1) : built.get(outputName);
            if (output == null) {
                throw new IllegalArgumentException("output node '" + outputName + "' is not declared");
            }
            return new Graph(nodes, output);
        }
    }
}
