package io.batchwise.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void arenaNeverOverlapsLiveBuffersAndStaysNearThePeak() {
        java.util.Random r = new java.util.Random(3);
        for (int trial = 0; trial < 50; trial++) {
            java.util.List<MemoryPlan.Buffer> bufs = new java.util.ArrayList<>();
            bufs.add(new MemoryPlan.Buffer("params", null, MemoryPlan.Kind.PARAMETER, 5000, 0, 40));
            for (int i = 0; i < 30; i++) {
                int a = r.nextInt(40);
                int b = a + r.nextInt(41 - a);
                bufs.add(new MemoryPlan.Buffer("b" + i, "n", MemoryPlan.Kind.ACTIVATION, 1 + r.nextInt(10_000), a, b));
            }
            MemoryPlan p = new MemoryPlan(1, 41, bufs);
            MemoryPlan.Arena arena = p.arena();
            long stepPeak = 0;
            for (int t = 0; t < 41; t++) {
                stepPeak = Math.max(stepPeak, p.liveBytes(t) - 5000);
            }
            assertTrue(arena.bytes() >= stepPeak, "arena below the peak");
            assertTrue(arena.bytes() <= p.totalBytes() - 5000 + 64 * 30, "arena above the sum");
            for (MemoryPlan.Buffer x : bufs.subList(1, bufs.size())) {
                assertEquals(0, arena.offset(x.name()) % MemoryPlan.ALIGNMENT);
                for (MemoryPlan.Buffer y : bufs.subList(1, bufs.size())) {
                    boolean timeOverlap = x != y && x.first() <= y.last() && y.first() <= x.last();
                    long xo = arena.offset(x.name());
                    long yo = arena.offset(y.name());
                    boolean spaceOverlap = xo < yo + y.bytes() && yo < xo + x.bytes();
                    assertFalse(timeOverlap && spaceOverlap, x + " and " + y + " share bytes while both live");
                }
            }
        }
    }

    @Test
    void chainArenaEqualsThePeak() {
        // A chain of equal buffers, each live for two steps: two at a time at most.
        java.util.List<MemoryPlan.Buffer> bufs = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) {
            bufs.add(new MemoryPlan.Buffer("a" + i, "n", MemoryPlan.Kind.ACTIVATION, 1024, i, i + 1));
        }
        MemoryPlan p = new MemoryPlan(1, 11, bufs);
        assertEquals(2048, p.peakBytes());
        assertEquals(2048, p.arena().bytes());
    }
}
