package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.models.Models;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/**
 * Native memory is freed deterministically: the tracker and JavaCPP's count of live native objects
 * ({@link Pointer#totalCount()}: every descriptor, primitive, memory object and argument map with a
 * deallocator) return to where they were when plans, executors and parameters close, and a training
 * loop creates no native object per step.
 */
class OneDnnMemoryTest {
    private final Backend backend = new OneDnnBackend();

    private void cycle(Graph g, int b) {
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32).initialize(1);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining().withInputGradients());
             Executor ex = plan.bind(p)) {
            ex.input().write(new float[Math.toIntExact(ex.input().size())]);
            ex.forward(Pass.training(1, 0));
            ex.loss(new SoftmaxCrossEntropy(), Targets.labels(new int[b]), 1.0 / b);
            ex.backward(GradientMode.OVERWRITE);
            ex.backward(GradientMode.ACCUMULATE);
            ex.forward(Pass.inference());
        }
    }

    /**
     * A graph whose output oneDNN keeps blocked (a convolution's {@code nChw16c}): reading the output and writing its
     * gradient whole go through a planned plain buffer, so they allocate nothing beyond the plan, and round-trip.
     */
    @Test
    void aBlockedOutputIsReadAndWrittenThroughThePlannedBuffer() {
        Graph g = Graph.builder().input("x", Shape.of(3, 9, 9)).then("conv", io.batchwise.layer.Conv2d.of(5, 3)).build();
        int b = 2;
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32).initialize(1);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            OneDnnPlan op = (OneDnnPlan) plan;
            assertTrue(!OneDnnMd.isPlain(op.outputs.get("conv").md), "the test needs a non-plain output: "
                    + OneDnnMd.describe(op.outputs.get("conv").md));
            ex.input().write(new float[Math.toIntExact(ex.input().size())]);
            ex.forward(Pass.training(1, 0));
            long live = backend.memory().liveBytes();
            float[] out = ex.output().toArray();
            float[] grad = new float[out.length];
            for (int i = 0; i < grad.length; i++) {
                grad[i] = i - 0.5f * grad.length;
            }
            ex.outputGradient().write(grad);
            assertEquals(live, backend.memory().liveBytes(), "no allocation beyond the plan");
            float[] back = ex.outputGradient().toArray();
            for (int i = 0; i < grad.length; i++) {
                assertEquals(grad[i], back[i], "gradient element " + i);
                assertEquals(out[i], ((HostTensor) ex.output()).get(i), 0f, "output element " + i + " (element-wise path)");
            }
        }
    }

    @Test
    void closingReturnsTrackedBytesAndNativeObjects() {
        for (String model : new String[] {"mlp", "lenet", "resnet-small"}) {
            Graph g = Models.byName(model);
            cycle(g, 4); // warm up: the engine and stream are created once per process
            long bytes = backend.memory().liveBytes();
            long objects = Pointer.totalCount();
            cycle(g, 4);
            cycle(g, 9);
            assertEquals(bytes, backend.memory().liveBytes(), model + ": tracked bytes after closing");
            assertEquals(objects, Pointer.totalCount(), model + ": live native objects after closing");
        }
    }

    @Test
    void executorAllocatesTheArenaAndPlansAllocateNothing() {
        Graph g = Models.lenet();
        long start = backend.memory().liveBytes();
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32)) {
            long withParameters = backend.memory().liveBytes();
            assertEquals(p.values().bytes() + p.gradients().bytes() + p.state().bytes(), withParameters - start);
            try (Plan plan = backend.plan(g, 32, PlanOptions.forTraining())) {
                assertEquals(withParameters, backend.memory().liveBytes(), "plan() allocates no tensor memory");
                try (Executor ex = plan.bind(p)) {
                    assertEquals(plan.memory().arena().bytes(), backend.memory().liveBytes() - withParameters,
                            "bind allocates exactly the planned arena");
                    assertEquals(plan.memory().sharedBytes(), withParameters - start, "shared buffers are the parameters'");
                }
                assertEquals(withParameters, backend.memory().liveBytes());
            }
        }
        assertEquals(start, backend.memory().liveBytes());
    }

    @Test
    void closingThePlanClosesItsExecutorsAndUseAfterCloseFails() {
        Graph g = Models.mlp();
        long start = backend.memory().liveBytes();
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32)) {
            Plan plan = backend.plan(g, 8, PlanOptions.forTraining());
            Executor ex = plan.bind(p);
            plan.close();
            assertThrows(IllegalStateException.class, () -> ex.forward(Pass.inference()));
            assertThrows(IllegalStateException.class, () -> ex.output().toArray());
            assertThrows(IllegalStateException.class, () -> plan.bind(p));
            ex.close();
        }
        assertEquals(start, backend.memory().liveBytes());
    }

    @Test
    void anAllocationThatCannotBeHadIsADeviceOutOfMemory() {
        long start = backend.memory().liveBytes();
        long objects = Pointer.totalCount();
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                () -> backend.allocate(Shape.of(1 << 30, 1 << 14), DataType.FLOAT32)); // 64 TiB
        assertEquals(4L << 44, e.requestedBytes());
        assertEquals(start, backend.memory().liveBytes());
        assertEquals(objects, Pointer.totalCount());
    }

    @Test
    void twoHundredStepsKeepMemoryFlat() {
        Graph g = Models.lenet();
        int b = 16;
        float[] x = OneDnnSmokeTest.random(b * 28 * 28, 3);
        int[] labels = new int[b];
        for (int i = 0; i < b; i++) {
            labels[i] = i % 10;
        }
        Targets t = Targets.labels(labels);
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32).initialize(7);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            HostTensor w = (HostTensor) p.values();
            HostTensor dw = (HostTensor) p.gradients();
            double first = 0;
            double last = 0;
            long bytes = 0;
            long objects = 0;
            long physical = 0;
            for (int step = 0; step < 200; step++) {
                if (step == 10) { // after warm-up (lazy JIT of oneDNN kernels, JVM classes)
                    bytes = backend.memory().liveBytes();
                    objects = Pointer.totalCount();
                    physical = Pointer.physicalBytes();
                }
                ex.input().write(x);
                ex.forward(Pass.training(step, 0));
                LossResult r = ex.loss(new SoftmaxCrossEntropy(), t, 1.0 / b);
                ex.backward(step % 2 == 0 ? GradientMode.OVERWRITE : GradientMode.ACCUMULATE);
                if (step % 2 == 1) {
                    for (long i = 0; i < w.size(); i++) {
                        w.set(i, w.get(i) - 0.05 * dw.get(i));
                    }
                }
                if (step == 0) {
                    first = r.mean();
                }
                last = r.mean();
            }
            assertEquals(bytes, backend.memory().liveBytes(), "tracked bytes after 190 more steps");
            assertEquals(objects, Pointer.totalCount(), "no native object is created per step");
            long grown = Pointer.physicalBytes() - physical;
            assertTrue(grown < 32L << 20, "resident memory grew by " + grown + " bytes over 190 steps");
            assertTrue(last < first, "the loss went down on a fixed batch: " + first + " -> " + last);
        }
    }
}
