package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.backend.PlanOptions;
import io.batchwise.models.Models;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The built-in models compile to fast oneDNN implementations: no {@code ref} kernel on the hot path. */
class OneDnnImplementationsTest {
    private static final Logger LOG = LoggerFactory.getLogger(OneDnnImplementationsTest.class);

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "lenet", "resnet-small"})
    void noReferenceImplementations(String model) {
        Graph g = Models.byName(model);
        try (OneDnnPlan plan = (OneDnnPlan) new OneDnnBackend().plan(g, 128, PlanOptions.forTraining())) {
            LOG.info("{} at micro-batch 128:\n{}", model, plan);
            for (Map.Entry<String, String> e : plan.implementations().entrySet()) {
                assertTrue(!e.getValue().startsWith("ref"), model + ": " + e.getKey() + " runs oneDNN's reference kernel "
                        + e.getValue());
            }
        }
    }

    /**
     * LeNet-5: each of its four ReLUs follows a convolution or an inner product and is fused into it as a
     * post-op, so no ReLU forward primitive is compiled and no ReLU output buffer is planned.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lenet"})
    void reluFollowingConvolutionOrInnerProductIsFused(String model) {
        Graph g = Models.byName(model);
        try (OneDnnPlan plan = (OneDnnPlan) new OneDnnBackend().plan(g, 16, PlanOptions.forTraining())) {
            long reluForward = plan.implementations().keySet().stream()
                    .filter(k -> k.startsWith("relu") && k.contains("forward")).count();
            assertEquals(0, reluForward, "ReLU forward primitives: " + plan.implementations().keySet());
            long reluBuffers = plan.memory().buffers().stream().filter(b -> b.name().startsWith("relu") && b.name().endsWith(".dst"))
                    .count();
            assertEquals(0, reluBuffers, plan.memory().table());
            assertTrue(plan.implementations().keySet().stream().anyMatch(k -> k.startsWith("relu") && k.contains("backward")),
                    "the ReLU backward still runs: " + plan.implementations().keySet());
        }
    }
}
