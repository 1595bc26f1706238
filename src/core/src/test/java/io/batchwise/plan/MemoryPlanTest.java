package io.batchwise.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.layer.Dense;
import io.batchwise.layer.ReLU;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {

    private static final Graph MLP = Graph.builder()
            .input("x", Shape.of(4)).then("fc1", new Dense(3)).then("relu", new ReLU()).then("fc2", new Dense(2))
            .build();

    @Test
    void trainingLifetimesAndPeak() {
        // n = 4 nodes: forward steps 0..3, loss 4, backward of node i at 8 - i.
        MemoryPlan.Builder b = new MemoryPlan.Builder(MLP, 1, true);
        for (var node : MLP.nodes()) {
            b.activation(node, MemoryPlan.Kind.ACTIVATION, 100);
            b.activationGradient(node, 10);
        }
        b.whole("params", null, MemoryPlan.Kind.PARAMETER, 1000);
        MemoryPlan p = b.build();
        assertEquals(9, p.steps());
        MemoryPlan.Buffer fc1 = p.buffers().get(2);
        assertEquals("fc1.dst", fc1.name());
        assertEquals(1, fc1.first());
        assertEquals(7, fc1.last());
        MemoryPlan.Buffer dFc1 = p.buffers().get(3);
        assertEquals(6, dFc1.first()); // written by relu's backward (step 8 - 2)
        assertEquals(7, dFc1.last());
        MemoryPlan.Buffer dOut = p.buffers().get(7);
        assertEquals(4, dOut.first()); // the loss writes the output gradient
        // At the loss step all four activations and the output gradient are live.
        assertEquals(1000 + 400 + 10, p.liveBytes(4));
        assertEquals(p.liveBytes(p.peakStep()), p.peakBytes());
        // Step 6 (ReLU backward): fc2.dst is dead; the gradients of relu and fc1 are live.
        assertEquals(1000 + 300 + 20, p.liveBytes(6));
        assertEquals(1000 + 400 + 40, p.totalBytes());
    }

    @Test
    void inferenceFreesActivationsAfterTheirLastReader() {
        MemoryPlan.Builder b = new MemoryPlan.Builder(MLP, 8, false);
        for (var node : MLP.nodes()) {
            b.activation(node, MemoryPlan.Kind.ACTIVATION, 100);
        }
        MemoryPlan p = b.build();
        assertEquals(4, p.steps());
        assertEquals(200, p.peakBytes()); // a producer and its consumer at a time
        assertEquals(3, p.buffers().get(3).last());
    }
}
