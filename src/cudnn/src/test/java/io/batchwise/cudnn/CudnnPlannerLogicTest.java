package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Add;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.ReLU;
import io.batchwise.models.Models;
import io.batchwise.plan.MemoryPlan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The plan construction that needs no device: buffer sizes and lifetimes, convolution workspaces from
 * the algorithm choice, 256-byte parameter slices, shared gradient bytes, and how each gradient is blended.
 */
class CudnnPlannerLogicTest {
    /** Workspace sizes a device might report: forward 1000 bytes, backward data 2000, backward filter 3000. */
    private static final ConvAlgorithms ALGOS = new ConvAlgorithms(1, 1000, 1, 2000, 0, 3000);

    private static CudnnProgram plan(Graph g, int b, PlanOptions o) {
        return CudnnPlanner.compile(g, b, o, x -> ALGOS);
    }

    private static Map<String, MemoryPlan.Buffer> buffers(CudnnProgram p) {
        Map<String, MemoryPlan.Buffer> m = new HashMap<>();
        for (MemoryPlan.Buffer b : p.memory.buffers()) {
            m.put(b.name(), b);
        }
        return m;
    }

    /** A step buffer's size in the plan: its float32 bytes padded to the device alignment (256). */
    private static long step(long bytes) {
        return (bytes + 255) / 256 * 256;
    }

    @Test
    void lenetBuffersHaveTheirPlainFloat32Sizes() {
        int b = 32;
        CudnnProgram p = plan(Models.lenet(), b, PlanOptions.forTraining());
        Map<String, MemoryPlan.Buffer> m = buffers(p);
        assertEquals(step(4L * b * 784), m.get("x.dst").bytes());
        assertEquals(step(4L * b * 6 * 24 * 24), m.get("conv1.dst").bytes());
        assertEquals(step(4L * b * 6 * 12 * 12), m.get("pool1.dst").bytes());
        assertEquals(step(4L * b * 16 * 8 * 8), m.get("conv2.dst").bytes());
        assertEquals(step(4L * b * 10), m.get("fc3.dst").bytes());
        assertEquals(step(4L * b * 6 * 24 * 24), m.get("conv1.diff_dst").bytes());
        assertEquals(step(4L * b * 10), m.get("fc3.diff_dst").bytes());
        assertNull(m.get("x.diff_dst"), "no input gradient unless asked for");
        // Workspaces from the algorithm choice: forward's at conv1's forward step, backward's (the larger) at its backward step.
        MemoryPlan.Buffer fw = m.get("conv1.forward_workspace");
        MemoryPlan.Buffer bw = m.get("conv1.backward_workspace");
        assertEquals(step(1000), fw.bytes());
        assertEquals(step(3000), bw.bytes());
        int n = Models.lenet().nodes().size();
        assertEquals(1, fw.first());
        assertEquals(1, fw.last());
        assertEquals(2 * n - 1, bw.first());
        assertEquals(bw.first(), bw.last());
        assertEquals(MemoryPlan.Kind.WORKSPACE, bw.kind());
        // The loss's buffers, at the loss step only.
        assertEquals(step(4L * b * 10), m.get("fc3.loss_targets").bytes());
        assertEquals(step(8L * b), m.get("fc3.loss_values").bytes());
        assertEquals(n, m.get("fc3.loss_values").first());
        assertEquals(n, m.get("fc3.loss_values").last());
        // Parameters as Parameters.allocate sizes them: each slot padded to 64 floats but the last.
        long params = CudnnBackend.layout(Models.lenet()).trainableSize();
        assertTrue(params > Models.lenet().parameterCount() && params < Models.lenet().parameterCount() + 64 * 10);
        assertEquals(4 * params, m.get("parameters").bytes());
        assertEquals(4 * params, m.get("gradients").bytes());
        // The arena holds the step's live buffers at their peak and reuses memory across lifetimes.
        long shared = p.memory.sharedBytes();
        long step = p.memory.totalBytes() - shared;
        assertTrue(p.memory.arena().bytes() >= p.memory.peakBytes() - shared);
        assertTrue(p.memory.arena().bytes() < step, "lifetimes let buffers share bytes");
    }

    @Test
    void everyStepBufferIsPaddedAndPlacedAt256ByteOffsets() {
        // Batch 7 on the conformance suite's shapes: sizes such as 4 * 7 * 5 = 140 bytes, which unpadded would put
        // the next buffer at a 64-byte (MemoryPlan.ALIGNMENT) offset only.
        for (Graph g : List.of(Models.lenet(), Graph.builder().input("x", Shape.of(3, 9, 11)).then("conv", Conv2d.of(5, 3).padding(1))
                .then("bn", new BatchNorm()).then("relu", new ReLU()).then("fc", new Dense(7)).build())) {
            for (int batch : new int[] {1, 7}) {
                CudnnProgram p = plan(g, batch, PlanOptions.forTraining());
                int step = 0;
                for (MemoryPlan.Buffer b : p.memory.buffers()) {
                    if (MemoryPlan.shared(b.kind())) {
                        continue;
                    }
                    step++;
                    assertEquals(0, b.bytes() % 256, b.name() + " " + b.bytes());
                    assertEquals(0, p.memory.arena().offset(b.name()) % 256, b.name() + " at " + p.memory.arena().offset(b.name()));
                }
                assertTrue(step > 5);
                // Every tensor fits its padded buffer.
                for (CudnnBuffer b : p.buffers) {
                    if (!b.isParameter() && b.aliasOf == null) {
                        assertTrue(b.bytes <= buffers(p).get(b.name).bytes(), b.toString());
                    }
                }
            }
        }
    }

    @Test
    void arenaSizesGrowLinearlyWithTheMicroBatch() {
        Graph g = Models.lenet();
        long a1 = plan(g, 1, PlanOptions.forTraining()).memory.arena().bytes();
        long a64 = plan(g, 64, PlanOptions.forTraining()).memory.arena().bytes();
        long a128 = plan(g, 128, PlanOptions.forTraining()).memory.arena().bytes();
        assertTrue(a1 < a64 && a64 < a128);
        double perSample = (a128 - a64) / 64.0;
        assertTrue(Math.abs((a64 - a1) / 63.0 - perSample) < 0.05 * perSample, a1 + " " + a64 + " " + a128);
    }

    @Test
    void everyParameterSliceSitsAt256BytesAndThePlanCountsThePadding() {
        // conv1 holds 27 + 3 values, conv2 108 + 4, bn 4 + 4 (and 4 + 4 of state), fc 5 x 64 + 5: packed, slots would
        // sit at 4-byte offsets (conv1.bias at byte 108, conv2.weight at 120, ...).
        Graph g = Graph.builder().input("x", Shape.of(1, 8, 8))
                .then("conv1", Conv2d.of(3, 3)).then("conv2", Conv2d.of(4, 3)).then("bn", new BatchNorm())
                .then("fc", new Dense(5)).build();
        var layout = CudnnBackend.layout(g);
        assertEquals(64, layout.alignment(), "64 floats: 256 bytes");
        // Offsets in floats: each slot rounded up to 64 after the previous one.
        assertEquals(List.of(0L, 64L, 128L, 256L, 320L, 384L, 448L, 768L), layout.slots().stream()
                .filter(s -> s.spec().trainable()).map(s -> s.offset()).toList());
        assertEquals(List.of(0L, 64L), layout.slots().stream().filter(s -> !s.spec().trainable()).map(s -> s.offset()).toList());
        assertEquals(475, g.parameterCount());
        assertEquals(475, layout.logicalTrainableSize());
        assertEquals(768 + 5, layout.trainableSize()); // the last slot is not padded
        assertEquals(8, layout.logicalStateSize());
        assertEquals(68, layout.stateSize());

        CudnnProgram p = plan(g, 2, PlanOptions.forTraining().withInputGradients());
        int params = 0;
        for (CudnnOp op : p.allOps()) {
            for (CudnnBuffer b : op.buffers()) {
                if (b.isParameter()) {
                    params++;
                    assertEquals(0, 4 * b.storeOffset % 256, op.label() + ": " + b);
                }
            }
        }
        assertTrue(params >= 16, "every op's parameter and gradient slices were seen: " + params);
        assertTrue(labels(p.forwardTraining).stream().noneMatch(l -> l.contains("aligned")), "no aligned copies are needed");
        // The plan's parameter, gradient and state buffers hold the padding, and so does the planner's fixed part.
        Map<String, MemoryPlan.Buffer> m = buffers(p);
        assertEquals(4 * layout.trainableSize(), m.get("parameters").bytes());
        assertEquals(4 * layout.trainableSize(), m.get("gradients").bytes());
        assertEquals(4 * layout.stateSize(), m.get("state").bytes());
        assertEquals(4 * ((2 + 2) * layout.trainableSize() + layout.stateSize()),
                io.batchwise.plan.MemoryPlanner.fixedBytes(layout, DataType.FLOAT32, 2));
        assertTrue(io.batchwise.plan.MemoryPlanner.fixedBytes(layout, DataType.FLOAT32, 2)
                > io.batchwise.plan.MemoryPlanner.fixedBytes(g, DataType.FLOAT32, 2));
    }

    @Test
    void theFirstContributionToAGradientOverwritesAndLaterOnesAdd() {
        // relu1 feeds conv2 and the add: the add's backward runs first (it comes later in the graph).
        Graph g = Graph.builder().input("x", Shape.of(2, 5, 5))
                .then("conv1", Conv2d.of(2, 3).padding(1)).then("relu1", new ReLU())
                .then("conv2", Conv2d.of(2, 3).padding(1))
                .add("add", new Add(), "relu1", "conv2").then("fc", new Dense(3)).build();
        CudnnProgram p = plan(g, 3, PlanOptions.forTraining());
        List<CudnnOp> back = p.backward(GradientMode.OVERWRITE);
        assertEquals(CudnnOp.Beta.ZERO, ((CudnnOp.Axpby) find(back, "add backward (input 0)")).beta());
        assertEquals(CudnnOp.Beta.ZERO, ((CudnnOp.Axpby) find(back, "add backward (input 1)")).beta());
        assertEquals(CudnnOp.Beta.ONE, ((CudnnOp.ConvBackwardData) find(back, "conv2 backward data")).beta());
        assertEquals(CudnnOp.Beta.ZERO, ((CudnnOp.ActBackward) find(back, "relu1 backward")).beta());
        assertTrue(labels(back).indexOf("add backward (input 0)") < labels(back).indexOf("conv2 backward data"));
        assertEquals(CudnnOp.Beta.BY_MODE, ((CudnnOp.Gemm) find(back, "fc backward weights")).beta());
        assertEquals(labels(p.backward(GradientMode.OVERWRITE)), labels(p.backward(GradientMode.ACCUMULATE)),
                "one program serves both modes");
    }

    @Test
    void aFlattenSharesItsBytesForwardAndBackward() {
        Graph g = Graph.builder().input("x", Shape.of(2, 3, 3)).then("flat", new Flatten()).then("fc", new Dense(4)).build();
        CudnnProgram p = plan(g, 5, PlanOptions.forTraining().withInputGradients());
        assertSame(p.outputs.get("x"), p.outputs.get("flat").aliasOf);
        assertSame(p.diffs.get("flat"), p.diffs.get("x").aliasOf, "x's gradient is the Flatten's gradient bytes");
        assertFalse(labels(p.backward(GradientMode.OVERWRITE)).contains("flat backward"), "no copy");
        assertNull(buffers(p).get("flat.dst"), "a view has no memory of its own");
    }

    @Test
    void inferencePlansHaveNoGradientsLossBuffersOrBackward() {
        Graph g = Graph.builder().input("x", Shape.of(6)).then("fc1", new Dense(5)).then("drop", new Dropout(0.5f))
                .then("bn", new BatchNorm()).then("fc2", new Dense(3)).build();
        CudnnProgram p = plan(g, 4, PlanOptions.forInference());
        assertTrue(p.backward.isEmpty());
        assertTrue(p.diffs.isEmpty());
        assertNull(p.lossTargets);
        assertSame(p.outputs.get("fc1"), p.outputs.get("drop").aliasOf, "inference dropout is the identity");
        for (MemoryPlan.Buffer b : p.memory.buffers()) {
            assertTrue(b.last() < g.nodes().size(), b + " lives past the forward pass");
        }
        assertTrue(labels(p.forwardInference).contains("bn forward (running statistics)"));
    }

    @Test
    void batchNormOfOneValuePerChannelRefusesTrainingPassesOnly() {
        Graph g = Graph.builder().input("x", Shape.of(5)).then("bn1", new BatchNorm()).build();
        CudnnProgram p = plan(g, 1, PlanOptions.forTraining());
        CudnnOp.Fail f = (CudnnOp.Fail) p.forwardTraining.get(0);
        assertTrue(f.message().contains("'bn1'") && f.message().contains("more than one value per channel"), f.message());
        assertTrue(p.forwardInference.stream().noneMatch(o -> o instanceof CudnnOp.Fail));
        assertTrue(plan(g, 2, PlanOptions.forTraining()).forwardTraining.stream().noneMatch(o -> o instanceof CudnnOp.Fail));
    }

    @Test
    void everyOpReachesOnlyBuffersOfItsProgramAndEveryArenaBufferHasAnOffset() {
        for (String model : Models.names()) {
            CudnnProgram p = plan(Models.byName(model), 8, PlanOptions.forTraining().withInputGradients());
            for (CudnnOp op : p.allOps()) {
                for (CudnnBuffer b : op.buffers()) {
                    assertSame(b, p.buffers.get(b.index), op.label());
                    if (!b.isParameter()) {
                        assertNotNull(p.memory.arena().offset(b.root().name), b.name);
                    }
                }
            }
        }
    }

    @Test
    void badRequestsAreRefusedWithTheReason() {
        Graph g = Models.mlp();
        var e = assertThrows(IllegalArgumentException.class, () -> plan(g, 0, PlanOptions.forTraining()));
        assertTrue(e.getMessage().contains("micro-batch must be positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plan(g, 4, PlanOptions.forTraining().withDataType(DataType.FLOAT64)));
        assertTrue(e.getMessage().contains("FLOAT32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ConvGeometry(1, 1, 4, 4, 2, 3, 3, 0, 0, 1, 1, 1, 1, 0, 2));
        assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
    }

    private static List<String> labels(List<CudnnOp> ops) {
        List<String> l = new ArrayList<>();
        ops.forEach(o -> l.add(o.label()));
        return l;
    }

    private static CudnnOp find(List<CudnnOp> ops, String label) {
        return ops.stream().filter(o -> o.label().equals(label)).findFirst()
                .orElseThrow(() -> new AssertionError("no op '" + label + "' in " + labels(ops)));
    }
}
