package io.batchwise.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Add;
import io.batchwise.layer.Dense;
import io.batchwise.layer.ReLU;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one rule for which nodes backward runs for. */
class GradientFlowTest {
    /**
     * x -> relu0 (no parameters, so no gradient unless input gradients are asked for) -> fc1 -> sum <- fc2 <- x;
     * side (after fc1) does not feed the output "sum".
     */
    private static final Graph G = Graph.builder()
            .input("x", Shape.of(8))
            .then("relu0", new ReLU())
            .then("fc1", new Dense(8))
            .add("side", new Dense(3), "fc1")
            .add("fc2", new Dense(8), "x")
            .add("sum", new Add(), "fc1", "fc2")
            .output("sum")
            .build();

    private static List<String> participating(GradientFlow f) {
        return G.nodes().stream().filter(f::participates).map(Node::name).toList();
    }

    @Test
    void trainingRunsBackwardForNodesThatNeedAGradientAndFeedTheOutput() {
        GradientFlow f = GradientFlow.of(G, PlanOptions.forTraining());
        assertEquals(List.of("fc1", "fc2", "sum"), participating(f));
        assertEquals(false, f.requiresGrad("relu0"));
        assertEquals(true, f.requiresGrad("side"));
        assertEquals(false, f.reachesOutput(G.node("side")));
        assertEquals(true, f.reachesOutput(G.node("x")));
    }

    @Test
    void inputGradientsPullTheParameterFreeNodesIn() {
        GradientFlow f = GradientFlow.of(G, PlanOptions.forTraining().withInputGradients());
        assertEquals(List.of("x", "relu0", "fc1", "fc2", "sum"), participating(f));
    }

    @Test
    void inferenceRunsNoBackward() {
        assertEquals(List.of(), participating(GradientFlow.of(G, PlanOptions.forInference())));
    }
}
