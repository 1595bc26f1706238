package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Add;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlan.Kind;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The backend's surface: discovery, allocation, planning, memory accounting and graph errors. */
class ReferenceBackendTest {
    private final ReferenceBackend backend = new ReferenceBackend();

    /** {@code x (3, 8, 8) -> conv (4, 8, 8) -> bn -> relu -> pool (4, 4, 4) -> drop -> fc (5)}. */
    private static Graph net() {
        return Graph.builder()
                .input("x", Shape.of(3, 8, 8))
                .then("conv", Conv2d.of(4, 3).padding(1))
                .then("bn", new BatchNorm())
                .then("relu", new ReLU())
                .then("pool", MaxPool2d.of(2))
                .then("drop", new Dropout(0.2f))
                .then("fc", new Dense(5))
                .build();
    }

    @Test
    void isFoundByServiceLoaderAndAlwaysAvailable() {
        assertInstanceOf(ReferenceBackend.class, Backends.get("reference"));
        assertTrue(backend.availability().available());
        assertEquals(0, backend.priority());
        assertEquals(java.util.EnumSet.of(DataType.FLOAT32, DataType.FLOAT64), backend.dataTypes());
    }

    @Test
    void allocatesZeroFilledHostTensors() {
        try (Tensor t = backend.allocate(Shape.of(2, 3), DataType.FLOAT64)) {
            assertInstanceOf(HostTensor.class, t);
            assertEquals(48, t.bytes());
            assertEquals(48, backend.memory().liveBytes());
            assertEquals(0.0, ((HostTensor) t).get(5));
        }
        assertEquals(0, backend.memory().liveBytes());
    }

    @Test
    void rejectsBadPlanArguments() {
        Graph g = net();
        assertThrows(IllegalArgumentException.class, () -> backend.plan(g, 0, PlanOptions.forTraining()));
        assertThrows(NullPointerException.class, () -> backend.plan(g, 1, null));
    }

    @Test
    void plannedBuffersAreExactlyWhatBindAndParametersAllocate() {
        Graph g = net();
        int b = 3;
        long before = backend.memory().liveBytes();
        backend.memory().resetPeak();
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            MemoryPlan m = plan.memory();
            assertEquals(m.totalBytes(), backend.memory().liveBytes() - before, m::table);
            assertEquals(m.peakBytes(), backend.memory().peakBytes() - before, m::table);

            Map<String, MemoryPlan.Buffer> byName = new java.util.HashMap<>();
            m.buffers().forEach(x -> byName.put(x.name(), x));
            assertEquals(Kind.INPUT, byName.get("x.dst").kind());
            assertEquals(4L * b * 3 * 8 * 8, byName.get("x.dst").bytes());
            assertEquals(4L * b * 4 * 8 * 8, byName.get("conv.dst").bytes());
            assertEquals(4L * b * 4 * 8 * 8, byName.get("conv.diff_dst").bytes());
            assertEquals(4L * b * 4 * 4 * 4, byName.get("pool.argmax").bytes());   // int indices
            assertEquals(4L * 2 * 4, byName.get("bn.stats").bytes());              // mean, 1/std
            assertEquals(4L * b * 4 * 4 * 4, byName.get("drop.mask").bytes());
            assertTrue(!byName.containsKey("x.diff_dst"), "no input gradient unless asked for");
            long params = 4 * (4 * 3 * 3 * 3 + 4 + 4 + 4 + 5 * 64 + 5);
            assertEquals(params, byName.get("parameters").bytes());
            assertEquals(params, byName.get("gradients").bytes());
            assertEquals(4 * 8, byName.get("state").bytes());

            ex.forward(Pass.training(1, 0));
            ex.backward(GradientMode.OVERWRITE);
            assertEquals(m.totalBytes(), backend.memory().liveBytes() - before, "running allocates nothing");
        }
        assertEquals(before, backend.memory().liveBytes());
    }

    @Test
    void inferencePlansHoldNoGradientsOrWorkspaces() {
        Graph g = net();
        try (Parameters p = backend.createParameters(g, DataType.FLOAT64)) {
            long withParams = backend.memory().liveBytes();
            try (Plan plan = backend.plan(g, 2, PlanOptions.forInference().withDataType(DataType.FLOAT64));
                 Executor ex = plan.bind(p)) {
                var kinds = plan.memory().bytesByKind();
                assertTrue(!kinds.containsKey(Kind.ACTIVATION_GRADIENT) && !kinds.containsKey(Kind.WORKSPACE), kinds::toString);
                long activations = kinds.get(Kind.INPUT) + kinds.get(Kind.ACTIVATION);
                assertEquals(activations, backend.memory().liveBytes() - withParams);
                ex.forward(Pass.inference());
                assertThrows(IllegalStateException.class, ex::outputGradient);
                assertThrows(IllegalStateException.class, () -> ex.backward(GradientMode.OVERWRITE));
            }
        }
    }

    @Test
    void closingExecutorPlanAndParametersReturnsEveryByte() {
        Graph g = net();
        long start = backend.memory().liveBytes();
        Parameters p = backend.createParameters(g, DataType.FLOAT32);
        long withParams = backend.memory().liveBytes();
        assertTrue(withParams > start);
        Plan plan = backend.plan(g, 4, PlanOptions.forTraining().withInputGradients());
        assertEquals(withParams, backend.memory().liveBytes(), "a reference plan allocates nothing");
        Executor a = plan.bind(p);
        long withOne = backend.memory().liveBytes();
        Executor b = plan.bind(p);
        assertEquals(2 * withOne - withParams, backend.memory().liveBytes());
        a.close();
        a.close();
        assertEquals(withOne, backend.memory().liveBytes());
        assertThrows(IllegalStateException.class, () -> a.forward(Pass.inference()));
        plan.close();   // closes b, still bound
        assertEquals(withParams, backend.memory().liveBytes());
        assertThrows(IllegalStateException.class, b::output);
        assertThrows(IllegalStateException.class, () -> plan.bind(p));
        plan.close();
        p.close();
        p.close();
        assertEquals(start, backend.memory().liveBytes());
    }

    @Test
    void graphShapeErrorsNameTheNodeAndTheShapes() {
        // Caught when the graph is built, before any backend sees it.
        IllegalArgumentException tooSmall = assertThrows(IllegalArgumentException.class, () -> Graph.builder()
                .input("x", Shape.of(3, 4, 4)).then("conv1", Conv2d.of(8, 5)).build());
        assertTrue(tooSmall.getMessage().contains("'conv1' (Conv2d)"), tooSmall.getMessage());
        assertTrue(tooSmall.getMessage().contains("(3, 4, 4)"), tooSmall.getMessage());

        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> Graph.builder()
                .input("x", Shape.of(10)).then("fc", new Dense(6)).then("pool", MaxPool2d.of(2)).build());
        assertTrue(rank.getMessage().contains("'pool' (MaxPool2d)") && rank.getMessage().contains("(6)"), rank.getMessage());

        IllegalArgumentException add = assertThrows(IllegalArgumentException.class, () -> Graph.builder()
                .input("a", Shape.of(3, 4, 4)).input("b", Shape.of(3, 4, 5)).add("sum", new Add(), "a", "b").build());
        assertTrue(add.getMessage().contains("'sum' (Add)") && add.getMessage().contains("(3, 4, 5)"), add.getMessage());
    }
}
