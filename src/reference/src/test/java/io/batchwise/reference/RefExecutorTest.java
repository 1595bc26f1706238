package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Add;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Tanh;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Binding, input checks, gradient modes, precision and a small end-to-end training run. */
class RefExecutorTest {
    private final ReferenceBackend backend = new ReferenceBackend();

    /** {@code x (2, 5, 4) -> conv (3, 3, 2) -> relu -> flatten (18) -> fc (4)}. */
    private static Graph convNet() {
        return Graph.builder()
                .input("x", Shape.of(2, 5, 4))
                .then("conv", Conv2d.of(3, 3))
                .then("relu", new ReLU())
                .then("flat", new Flatten())
                .then("fc", new Dense(4))
                .build();
    }

    private static float[] random(int n, SplittableRandom rng) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (2 * rng.nextDouble() - 1);
        }
        return a;
    }

    // ---- Binding and input checks --------------------------------------------------------------

    @Test
    void wrongInputLengthNamesTheInputAndBothShapes() {
        try (Parameters p = backend.createParameters(convNet(), DataType.FLOAT32);
             Plan plan = backend.plan(convNet(), 7, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ex.input().write(new float[40]));
            assertTrue(e.getMessage().contains("input 'x'"), e.getMessage());
            assertTrue(e.getMessage().contains("(7, 2, 5, 4)") && e.getMessage().contains("(2, 5, 4)"), e.getMessage());
            assertTrue(e.getMessage().contains("40"), e.getMessage());
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> ex.input("y"));
            assertTrue(unknown.getMessage().contains("[x]"), unknown.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ex.input("conv"), "not an input node");
            assertThrows(IllegalStateException.class, () -> ex.inputGradient("x"), "plan without input gradients");
            assertThrows(IllegalStateException.class, () -> ex.backward(GradientMode.OVERWRITE), "no forward yet");
        }
    }

    @Test
    void parametersMustComeFromTheSameGraphAndType() {
        // Same node names, one more output unit (a graph differing only in parameter-free nodes would fit).
        Graph other = Graph.builder().input("x", Shape.of(2, 5, 4)).then("conv", Conv2d.of(3, 3)).then("fc", new Dense(5)).build();
        try (Plan plan = backend.plan(convNet(), 2, PlanOptions.forTraining());
             Parameters wrongGraph = backend.createParameters(other, DataType.FLOAT32);
             Parameters wrongType = backend.createParameters(convNet(), DataType.FLOAT64)) {
            IllegalArgumentException g = assertThrows(IllegalArgumentException.class, () -> plan.bind(wrongGraph));
            assertTrue(g.getMessage().contains("another graph") && g.getMessage().contains("fc.weight (4, 18)"), g.getMessage());
            IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> plan.bind(wrongType));
            assertTrue(t.getMessage().contains("FLOAT64") && t.getMessage().contains("FLOAT32"), t.getMessage());
        }
        try (Plan plan = backend.plan(convNet(), 2, PlanOptions.forTraining());
             Parameters foreign = new ForeignBackend().createParameters(convNet(), DataType.FLOAT32)) {
            IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> plan.bind(foreign));
            assertTrue(f.getMessage().contains("'foreign'"), f.getMessage());
        }
        Parameters closed = backend.createParameters(convNet(), DataType.FLOAT32);
        closed.close();
        try (Plan plan = backend.plan(convNet(), 2, PlanOptions.forTraining())) {
            assertThrows(IllegalStateException.class, () -> plan.bind(closed));
        }
        assertEquals(0, backend.memory().liveBytes());
    }

    // ---- Gradient modes and fan-out ------------------------------------------------------------

    @Test
    void accumulateAddsAndOverwriteReplaces() {
        SplittableRandom rng = new SplittableRandom(3);
        try (Parameters p = backend.createParameters(convNet(), DataType.FLOAT64).initialize(5);
             Plan plan = backend.plan(convNet(), 3, PlanOptions.forTraining().withDataType(DataType.FLOAT64));
             Executor ex = plan.bind(p)) {
            ex.input().write(random(3 * 40, rng));
            ex.forward(Pass.training(1, 0));
            ex.outputGradient().write(random(12, rng));
            ex.backward(GradientMode.OVERWRITE);
            double[] once = p.gradients().toDoubles();
            ex.backward(GradientMode.ACCUMULATE);
            double[] twice = p.gradients().toDoubles();
            double scale = Arrays.stream(once).map(Math::abs).max().orElseThrow();
            for (int i = 0; i < once.length; i++) {
                // the second sum starts from the first instead of 0: equal up to float64 rounding
                assertEquals(2 * once[i], twice[i], 1e-14 * scale, "element " + i);
            }
            ex.backward(GradientMode.OVERWRITE);
            assertArrayEquals(once, p.gradients().toDoubles(), 0);
        }
    }

    @Test
    void gradientsOfANodeWithSeveralConsumersAreSummed() {
        // y = x + x + relu(x) + tanh(x): dy/dx = 2 + relu'(x) + tanh'(x)
        Graph g = Graph.builder().input("x", Shape.of(3))
                .add("relu", new ReLU(), "x").add("tanh", new Tanh(), "x")
                .add("sum", new Add(), "x", "x", "relu", "tanh").build();
        try (RefRun r = new RefRun(g, 1)) {
            r.input("x", -1, 0.5, 2).forward();
            double[] x = {-1, 0.5, 2};
            double[] expected = new double[3];
            for (int i = 0; i < 3; i++) {
                double t = Math.tanh(x[i]);
                expected[i] = 2 + (x[i] > 0 ? 1 : 0) + 1 - t * t;
            }
            assertArrayEquals(expected, r.backward(ones(3)), 1e-15);
        }
    }

    @Test
    void nodesAfterTheOutputTakeNoPartInBackwardAndAnInputCanBeTheOutput() {
        // output "relu" is consumed by a later node "tanh", which must not feed gradient back
        Graph g = Graph.builder().input("x", Shape.of(2)).then("relu", new ReLU()).then("tanh", new Tanh())
                .output("relu").build();
        try (RefRun r = new RefRun(g, 1)) {
            r.input("x", -1, 3).forward();
            assertArrayEquals(new double[] {0, 5}, r.backward(4, 5), 0);
        }
        Graph bare = Graph.builder().input("x", Shape.of(2)).build();
        try (Parameters p = backend.createParameters(bare, DataType.FLOAT32);
             Plan plan = backend.plan(bare, 1, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            ex.input().write(new float[] {1, 2});
            ex.forward(Pass.inference());
            assertArrayEquals(new float[] {1, 2}, ex.output().toArray());
            ex.outputGradient().write(new float[] {3, 4});
            ex.backward(GradientMode.OVERWRITE);
        }
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        Arrays.fill(a, 1);
        return a;
    }

    @Test
    void accumulatingMicroBatchesEqualsOneBigBatch() {
        // Gradient of the mean loss over 6 samples: one step of 6, or micro-batches of 2 and 4
        // sharing the parameters, each loss scaled by 1 / 6 (the effective batch), not 1 / 2 or 1 / 4.
        Graph g = convNet();
        SplittableRandom rng = new SplittableRandom(11);
        float[] x = random(6 * 40, rng);
        int[] labels = {0, 3, 1, 2, 2, 1};
        double scale = 1.0 / 6;
        PlanOptions opt = PlanOptions.forTraining().withDataType(DataType.FLOAT64);
        try (Parameters p = backend.createParameters(g, DataType.FLOAT64).initialize(9);
             Plan whole = backend.plan(g, 6, opt);
             Plan two = backend.plan(g, 2, opt);
             Plan four = backend.plan(g, 4, opt);
             Executor e6 = whole.bind(p);
             Executor e2 = two.bind(p);
             Executor e4 = four.bind(p)) {
            e6.input().write(x);
            e6.forward(Pass.training(1, 0));
            LossResult full = e6.loss(new SoftmaxCrossEntropy(), Targets.labels(labels), scale);
            e6.backward(GradientMode.OVERWRITE);
            double[] expected = p.gradients().toDoubles();

            e2.input().write(Arrays.copyOfRange(x, 0, 80));
            e2.forward(Pass.training(1, 0));
            LossResult a = e2.loss(new SoftmaxCrossEntropy(), Targets.labels(labels).slice(0, 2), scale);
            e2.backward(GradientMode.OVERWRITE);
            e4.input().write(Arrays.copyOfRange(x, 80, 240));
            e4.forward(Pass.training(1, 2));
            LossResult b = e4.loss(new SoftmaxCrossEntropy(), Targets.labels(labels).slice(2, 4), scale);
            e4.backward(GradientMode.ACCUMULATE);

            assertArrayEquals(expected, p.gradients().toDoubles(), 1e-15);
            assertEquals(full.sum(), a.plus(b).sum(), 1e-12);
            assertEquals(6, a.plus(b).terms());
        }
    }

    // ---- Precision -----------------------------------------------------------------------------

    @Test
    void float32StoresFloatsAndTracksFloat64() {
        Graph g = convNet();
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = random(2 * 40, rng);
        float[] dy = random(8, rng);
        double[][] results = new double[2][];
        double[][] grads = new double[2][];
        DataType[] types = {DataType.FLOAT32, DataType.FLOAT64};
        try (Parameters seed = backend.createParameters(g, DataType.FLOAT32).initialize(2)) {
            for (int k = 0; k < 2; k++) {
                try (Parameters p = backend.createParameters(g, types[k]);
                     Plan plan = backend.plan(g, 2, new PlanOptions(types[k], true, true));
                     Executor ex = plan.bind(p)) {
                    p.copyFrom(seed);
                    ex.input().write(x);
                    ex.forward(Pass.training(1, 0));
                    ex.outputGradient().write(dy);
                    ex.backward(GradientMode.OVERWRITE);
                    results[k] = ex.output().toDoubles();
                    grads[k] = p.gradients().toDoubles();
                    if (types[k] == DataType.FLOAT32) {
                        for (double v : results[k]) {
                            assertEquals((float) v, v, 0, "a float32 plan stores float values");
                        }
                        for (double v : grads[k]) {
                            assertEquals((float) v, v, 0);
                        }
                    }
                }
            }
        }
        assertArrayEquals(results[1], results[0], 1e-6);
        assertArrayEquals(grads[1], grads[0], 1e-6);
    }

    @Test
    void lossWorksOnAnInferencePlanWithoutAGradient() {
        Graph g = Graph.builder().input("x", Shape.of(3)).then("fc", new Dense(2)).build();
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32).initialize(1);
             Plan plan = backend.plan(g, 2, PlanOptions.forInference());
             Executor ex = plan.bind(p)) {
            ex.input().write(new float[] {1, 2, 3, -1, -2, -3});
            ex.forward(Pass.inference());
            // no bias yet: opposite inputs give opposite logits, so exactly one of them predicts class 0
            LossResult r = ex.loss(new SoftmaxCrossEntropy(), Targets.labels(0, 0), 1);
            assertEquals(2, r.samples());
            assertEquals(1, r.correct());
            assertTrue(r.sum() > 0);
        }
    }

    // ---- End to end ----------------------------------------------------------------------------

    @Test
    void trainsASmallClassifierEndToEnd() {
        // Points in [-1, 1]^2, class 1 inside the circle r^2 < 0.5: not linearly separable.
        Graph g = Graph.builder().input("x", Shape.of(2))
                .then("fc1", new Dense(16)).then("act1", new Tanh())
                .then("fc2", new Dense(2)).build();
        int b = 64;
        SplittableRandom rng = new SplittableRandom(2024);
        float[] x = random(2 * b, rng);
        int[] y = new int[b];
        for (int i = 0; i < b; i++) {
            y[i] = x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1] < 0.5 ? 1 : 0;
        }
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32).initialize(7);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            ex.input().write(x);
            HostTensor w = (HostTensor) p.values();
            HostTensor dw = (HostTensor) p.gradients();
            LossResult first = null;
            LossResult last = null;
            for (int step = 0; step < 1500; step++) {
                ex.forward(Pass.training(step, 0));
                last = ex.loss(new SoftmaxCrossEntropy(), Targets.labels(y), 1.0 / b);
                first = first == null ? last : first;
                ex.backward(GradientMode.OVERWRITE);
                for (long i = 0; i < w.size(); i++) {
                    w.set(i, w.get(i) - 0.5 * dw.get(i));   // plain SGD on the host
                }
            }
            assertTrue(last.mean() < 0.25 * first.mean(), "loss " + first.mean() + " -> " + last.mean());
            assertTrue(last.accuracy() >= 0.95, "accuracy " + last.accuracy());
        }
    }

    /** A backend whose tensors are not reference tensors, to test that bind refuses them. */
    private static final class ForeignBackend implements Backend {
        private final ReferenceBackend inner = new ReferenceBackend();

        public String name() {
            return "foreign";
        }

        public Availability availability() {
            return Availability.yes("test");
        }

        public int priority() {
            return -1;
        }

        public Set<DataType> dataTypes() {
            return inner.dataTypes();
        }

        public MemoryTracker memory() {
            return inner.memory();
        }

        public Tensor allocate(Shape shape, DataType type) {
            Tensor t = inner.allocate(shape, type);
            return new Tensor() {
                public Shape shape() {
                    return t.shape();
                }

                public DataType dataType() {
                    return t.dataType();
                }

                public long bytes() {
                    return t.bytes();
                }

                public void read(long offset, float[] dst, int dstOff, int len) {
                    t.read(offset, dst, dstOff, len);
                }

                public void write(long offset, float[] src, int srcOff, int len) {
                    t.write(offset, src, srcOff, len);
                }

                public void close() {
                    t.close();
                }
            };
        }

        public Plan plan(Graph graph, int microBatch, PlanOptions options) {
            throw new UnsupportedOperationException();
        }
    }
}
