package io.batchwise.spi;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Input;
import io.batchwise.layer.ParamSpec;

/**
 * Which nodes a backward pass runs for, computed once from the graph (the rule every backend's planner
 * follows, so they cannot disagree). A node <em>requires a gradient</em> when it has trainable parameters or
 * an input that requires one (an input node requires one only when the plan asks for input gradients); it
 * <em>reaches the output</em> when the output is it or one of its consumers' (transitively). Backward runs for
 * a node that does both, in a training plan.
 */
public final class GradientFlow {
    private final Graph graph;
    private final boolean training;
    /** By node index. */
    private final boolean[] requiresGrad;
    private final boolean[] reachesOutput;

    private GradientFlow(Graph graph, PlanOptions options) {
        this.graph = graph;
        this.training = options.training();
        int n = graph.nodes().size();
        this.requiresGrad = new boolean[n];
        this.reachesOutput = new boolean[n];
        for (Node node : graph.nodes()) { // topological order: inputs first
            boolean g;
            if (node.layer() instanceof Input) {
                g = options.inputGradients();
            } else {
                g = node.params().stream().anyMatch(ParamSpec::trainable);
                for (String in : node.inputs()) {
                    g |= requiresGrad[graph.node(in).index()];
                }
            }
            requiresGrad[node.index()] = g;
        }
        for (int i = n - 1; i >= 0; i--) {
            Node node = graph.nodes().get(i);
            boolean r = node == graph.output();
            for (Node c : graph.consumers(node.name())) {
                r |= reachesOutput[c.index()];
            }
            reachesOutput[i] = r;
        }
    }

    /** The flow of {@code graph} under {@code options} (training or inference, input gradients or not). */
    public static GradientFlow of(Graph graph, PlanOptions options) {
        return new GradientFlow(graph, options);
    }

    /** Whether a gradient with respect to {@code node}'s output is needed for some parameter or requested input. */
    public boolean requiresGrad(String node) {
        return requiresGrad[graph.node(node).index()];
    }

    /** Whether {@code node}'s output feeds the graph's output. */
    public boolean reachesOutput(Node node) {
        return reachesOutput[node.index()];
    }

    /** Whether backward runs for {@code node}: a training plan, a gradient is needed, the node feeds the output. */
    public boolean participates(Node node) {
        return training && requiresGrad[node.index()] && reachesOutput[node.index()];
    }
}
