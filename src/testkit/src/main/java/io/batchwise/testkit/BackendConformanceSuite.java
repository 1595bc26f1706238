package io.batchwise.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.ELU;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GELU;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Init;
import io.batchwise.layer.Layer;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Softmax;
import io.batchwise.layer.Tanh;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.MeanSquaredError;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.reference.ReferenceBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every backend meets, written once and run against each of them: subclass it and
 * return the backend under test from {@link #backend()}.
 *
 * <p>Every case builds a tiny graph, gives the backend under test (in {@link #dataType()}, FLOAT32
 * by default) and the oracle, a {@link ReferenceBackend} computing in FLOAT64, the same random
 * parameters, state, inputs and output gradient (float values, copied through float arrays), runs
 * a training forward pass and an {@link GradientMode#OVERWRITE} backward with input gradients on
 * both, then an inference forward pass, and compares: the output, every input gradient, every
 * parameter gradient, the state (BatchNorm running statistics) after the training pass and the
 * inference output. Loss cases compare the loss result and the output gradient too.
 *
 * <p>Metric, per compared tensor, with {@code a} the backend under test and {@code b} the oracle:
 * {@code max_i |a_i - b_i| / max(1, max_i |b_i|)}, at most {@link #tolerance()} (1e-4 by default).
 * Dropout cases also require the exact same zero pattern (the same mask).
 *
 * <p>A subclass may run the backend under test in another {@link #precision()} (e.g. bf16 mixed precision,
 * with a tolerance derived from bf16's significand: see the oneDNN backend's bf16 suite); the oracle always
 * computes in FLOAT64.
 */
public abstract class BackendConformanceSuite {

    /** The backend under test. */
    protected abstract Backend backend();

    /** The largest accepted error (see the class comment for the metric). */
    protected double tolerance() {
        return 1e-4;
    }

    /**
     * The tolerance of the composite network case (conv, BatchNorm, ReLU, residual add, max-pool, dense): the
     * per-layer {@link #tolerance()} unless a subclass says why a composition needs more.
     */
    protected double networkTolerance() {
        return tolerance();
    }

    /** The numeric policy the backend under test plans with (the oracle's is always FLOAT32 in FLOAT64). */
    protected Precision precision() {
        return Precision.FLOAT32;
    }

    /**
     * {@code v} as the backend under test can hold it exactly; the random inputs, trainable parameters and output
     * gradients both backends get are passed through it (identity by default). A bf16 suite rounds them to bf16, so
     * that what the comparison measures is the rounding of intermediate results, and a ReLU's mask or a max-pool's
     * argmax over the inputs is the same on both sides (rounding an input could tie two window values or move one
     * across zero: a different, equally right gradient, not an error of the backend).
     */
    protected float representable(float v) {
        return v;
    }

    /** The type the backend under test computes in. */
    protected DataType dataType() {
        return DataType.FLOAT32;
    }

    private final Backend oracle = new ReferenceBackend();

    private static final long SEED = 20240917L;
    /** The micro-batch's first global sample: dropout masks must use it. */
    private static final long FIRST_SAMPLE = 5;

    // ---- Cases -------------------------------------------------------------------------------

    /**
     * One graph to run on both backends.
     *
     * @param loss       null: the output gradient is random; otherwise it comes from this loss
     * @param samePattern the outputs and input gradients must be zero at the same elements (dropout)
     */
    public record Case(String name, Graph graph, int batch, Loss loss, boolean samePattern) {
        @Override
        public String toString() {
            return name + ", batch " + batch;
        }
    }

    private static Case layer(String name, Shape in, Layer layer, int batch) {
        return new Case(name + " on " + in, Graph.builder().input("x", in).then("layer", layer).build(), batch, null,
                layer instanceof Dropout);
    }

    /** The layer at batch 1 and batch 7; a null layer names a layer + ReLU pair. */
    private static Stream<Case> both(String name, Shape in, Layer layer) {
        if (layer == null) {
            Layer first = !name.startsWith("Conv2d") ? new Dense(6)
                    : conv(in.dim(0) == 1 ? 6 : 5, 3, 3).stride(2).padding(1);
            return Stream.of(1, 7).map(b -> new Case(name + " on " + in,
                    Graph.builder().input("x", in).then("layer", first).then("relu", new ReLU()).build(), b, null, false));
        }
        return Stream.of(layer(name, in, layer, 1), layer(name, in, layer, 7));
    }

    private static Conv2d conv(int oc, int kh, int kw) {
        return new Conv2d(oc, kh, kw, 1, 1, 0, 0, 1, 1, true, Init.heUniform(), Init.zeros());
    }

    private static final Shape IMAGE = Shape.of(3, 9, 11);
    private static final Shape IMAGE5 = Shape.of(5, 9, 11);

    static Stream<Case> layerCases() {
        return Stream.of(
                both("Dense(4)", IMAGE, new Dense(4)),
                Stream.of(layer("Dense(5)", Shape.of(7), new Dense(5), 7),
                        layer("Dense(3) without bias", Shape.of(5), new Dense(3, false, Init.heUniform(), Init.zeros()), 7)),
                both("Conv2d 3->5 k3 s1p0d1", IMAGE, conv(5, 3, 3)),
                both("Conv2d 3->5 k3 s2p1d1", IMAGE, conv(5, 3, 3).stride(2).padding(1)),
                both("Conv2d 3->5 k3 s1p2d2", IMAGE, conv(5, 3, 3).padding(2).dilation(2)),
                both("Conv2d 3->5 k3 stride 2x1 padding 1x0", IMAGE, conv(5, 3, 3).stride(2, 1).padding(1, 0)),
                both("Conv2d 5->7 k1x1", IMAGE5, conv(7, 1, 1)),
                both("Conv2d 1->6 k5 (one input channel: channels-last on oneDNN)", Shape.of(1, 12, 13), conv(6, 5, 5)),
                both("Conv2d 1->6 k3 s2p1 + ReLU", Shape.of(1, 12, 13), null),
                both("Conv2d 3->5 k3x5 padding 1x2", IMAGE, conv(5, 3, 5).padding(1, 2)),
                // A one-channel convolution, ReLU and max-pool before another convolution: oneDNN's bf16 plans keep the
                // first three in f32 (OneDnnPlanner.f32Region), converting at conv2.
                Stream.of(1, 7).map(b -> new Case("Conv2d 1->6 k3 + ReLU + MaxPool2d 2 + Conv2d 6->4 k3 on (1, 12, 13)",
                        Graph.builder().input("x", Shape.of(1, 12, 13)).then("conv1", conv(6, 3, 3)).then("relu1", new ReLU())
                                .then("pool1", MaxPool2d.of(2)).then("conv2", conv(4, 3, 3)).build(), b, null, false)),
                Stream.of(layer("Conv2d 5->3 k3 s2p1 dilation 2x1 without bias", IMAGE5,
                        conv(3, 3, 3).stride(2).padding(1).dilation(2, 1).withBias(false), 7)),
                both("MaxPool2d k3 s2 p1", IMAGE5, MaxPool2d.of(3, 2, 1)),
                both("MaxPool2d k2 s1 p0", IMAGE5, MaxPool2d.of(2, 1, 0)),
                Stream.of(layer("MaxPool2d k3x2 s1x2 p1x1", IMAGE5, new MaxPool2d(3, 2, 1, 2, 1, 1), 7)),
                both("AvgPool2d k3 s2 p1 include pad", IMAGE5, AvgPool2d.of(3, 2, 1, true)),
                both("AvgPool2d k3 s2 p1 exclude pad", IMAGE5, AvgPool2d.of(3, 2, 1, false)),
                Stream.of(layer("AvgPool2d k3x2 s2x1 p1x1 exclude pad", IMAGE5, new AvgPool2d(3, 2, 2, 1, 1, 1, false), 7),
                        layer("AvgPool2d k2 s2 p0", IMAGE5, AvgPool2d.of(2), 7),
                        layer("GlobalAvgPool2d", Shape.of(7, 9, 11), new GlobalAvgPool2d(), 7),
                        layer("Flatten", IMAGE, new Flatten(), 7),
                        layer("ReLU", IMAGE5, new ReLU(), 7),
                        layer("LeakyReLU(0.1)", IMAGE5, new LeakyReLU(0.1f), 7),
                        layer("ELU(1)", IMAGE5, new ELU(), 7),
                        layer("ELU(0.5)", Shape.of(7), new ELU(0.5f), 7),
                        layer("GELU", IMAGE5, new GELU(), 7),
                        layer("Tanh", IMAGE5, new Tanh(), 7),
                        layer("Sigmoid", IMAGE5, new Sigmoid(), 7)),
                // Convolution or Dense followed by its only consumer, a ReLU: oneDNN fuses the pair (post-op).
                both("Conv2d 3->5 k3 s2p1 + ReLU", IMAGE, null),
                both("Dense(6) + ReLU", IMAGE, null),
                both("Softmax", Shape.of(7), new Softmax()),
                both("Softmax", IMAGE5, new Softmax()),
                Stream.of(layer("BatchNorm 1d", Shape.of(5), new BatchNorm(), 7),
                        layer("BatchNorm 1d eps 1e-3 momentum 0.3", Shape.of(7), new BatchNorm(1e-3f, 0.3f), 3)),
                both("BatchNorm 2d", IMAGE, new BatchNorm()),
                Stream.of(layer("BatchNorm 2d", Shape.of(5, 3, 2), new BatchNorm(), 7)),
                both("Dropout(0.3)", IMAGE5, new Dropout(0.3f)),
                Stream.of(layer("Dropout(0.3)", Shape.of(7), new Dropout(0.3f), 7)),
                Stream.of(
                        new Case("Add of 3 inputs (5, 9, 11)", Graph.builder().input("a", IMAGE5).input("b", IMAGE5)
                                .input("c", IMAGE5).add("sum", new Add(), "a", "b", "c").build(), 7, null, false),
                        new Case("Add of 2 inputs (7)", Graph.builder().input("a", Shape.of(7)).input("b", Shape.of(7))
                                .add("sum", new Add(), "a", "b").build(), 1, null, false),
                        new Case("Concat (3, 9, 11) + (5, 9, 11)", Graph.builder().input("a", IMAGE).input("b", IMAGE5)
                                .add("cat", new Concat(), "a", "b").build(), 7, null, false),
                        new Case("Concat (3, 9, 11) + (1, 9, 11) + (7, 9, 11)", Graph.builder().input("a", IMAGE)
                                .input("b", Shape.of(1, 9, 11)).input("c", Shape.of(7, 9, 11))
                                .add("cat", new Concat(), "a", "b", "c").build(), 1, null, false),
                        new Case("Concat (3) + (5) + (1)", Graph.builder().input("a", Shape.of(3)).input("b", Shape.of(5))
                                .input("c", Shape.of(1)).add("cat", new Concat(), "a", "b", "c").build(), 7, null, false))
        ).flatMap(s -> s);
    }

    static Stream<Case> lossCases() {
        Graph classifier = Graph.builder().input("x", IMAGE).then("fc", new Dense(7)).build();
        Graph regressor = Graph.builder().input("x", IMAGE).then("conv", conv(3, 3, 3).stride(2)).build();
        return Stream.of(
                new Case("softmax cross-entropy, Dense(7) on (3, 9, 11)", classifier, 7, new SoftmaxCrossEntropy(), false),
                new Case("softmax cross-entropy, label smoothing 0.1", classifier, 7, new SoftmaxCrossEntropy(0.1f), false),
                new Case("softmax cross-entropy", classifier, 1, new SoftmaxCrossEntropy(), false),
                new Case("mean squared error, Dense(7)", classifier, 7, new MeanSquaredError(), false),
                new Case("mean squared error, Conv2d output (3, 4, 5)", regressor, 7, new MeanSquaredError(), false));
    }

    /**
     * {@code x (3, 9, 11) -> conv1 (5, 9, 11) -> bn1 -> relu1 -> conv2 (5, 9, 11) -> add(relu1, conv2)
     * -> pool (5, 4, 5) -> fc (7)}: conv, BatchNorm, ReLU, pooling, Dense and a residual connection.
     */
    static Graph network() {
        return Graph.builder()
                .input("x", IMAGE)
                .then("conv1", Conv2d.of(5, 3).padding(1))
                .then("bn1", new BatchNorm())
                .then("relu1", new ReLU())
                .then("conv2", Conv2d.of(5, 3).padding(1))
                .add("res", new Add(), "relu1", "conv2")
                .then("pool", MaxPool2d.of(2))
                .then("fc", new Dense(7))
                .build();
    }

    // ---- Tests -------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("layerCases")
    void layerMatchesTheReference(Case c) {
        String why = incomparable(c);
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, why);
        assertMatches(c, false);
    }

    /**
     * Why layer case {@code c} cannot be compared with the oracle on this backend, or null (every case, by default).
     * For a backend that rounds computed activations to a narrower type before a max-pool (a bf16 plan without
     * oneDNN's f32 region), two window values the oracle tells apart can tie, and the gradient goes to the other
     * one: a different, equally right gradient, off by a whole term (see {@link #representable}). The subclass
     * names the cases and why; the composite network, whose max-pool reads a computed sum, has
     * {@link #networkTolerance()} instead.
     */
    protected String incomparable(Case c) {
        return null;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lossCases")
    void lossMatchesTheReference(Case c) {
        assertMatches(c, false);
    }

    @Test
    void networkForwardBackwardAndAccumulationMatchTheReference() {
        assertMatches(new Case("conv-bn-relu-conv-add-pool-dense network", network(), 7, new SoftmaxCrossEntropy(), false),
                true, networkTolerance());
    }

    @Test
    void inferencePlanMatchesTheReference() {
        Graph g = network();
        Data d = Data.random(new Case("inference", g, 7, null, false), 1, this::representable);
        double[][] out = new double[2][];
        Backend[] backends = {backend(), oracle};
        DataType[] types = {dataType(), DataType.FLOAT64};
        for (int k = 0; k < 2; k++) {
            try (Parameters p = backends[k].createParameters(g, types[k]);
                 Plan plan = backends[k].plan(g, 7, PlanOptions.forInference().withDataType(types[k])
                         .withPrecision(k == 0 ? precision() : Precision.FLOAT32));
                 Executor ex = plan.bind(p)) {
                d.load(p, ex);
                ex.forward(Pass.inference());
                out[k] = ex.output().toDoubles();
            }
        }
        List<String> failures = new ArrayList<>();
        compare("inference output", out[0], out[1], false, failures);
        assertTrue(failures.isEmpty(), failures::toString);
    }

    @Test
    void wrongInputLengthNamesTheInputAndItsShape() {
        Graph g = Graph.builder().input("pixels", IMAGE).then("conv", conv(5, 3, 3)).build();
        try (Parameters p = backend().createParameters(g, dataType());
             Plan plan = backend().plan(g, 7, PlanOptions.forTraining().withDataType(dataType()).withPrecision(precision()));
             Executor ex = plan.bind(p)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ex.input("pixels").write(new float[100]));
            String m = String.valueOf(e.getMessage());
            assertTrue(m.contains("pixels"), "names the input: " + m);
            assertTrue(m.contains("(7, 3, 9, 11)"), "names the expected shape: " + m);
            assertTrue(m.contains("100"), "says what it got: " + m);
        }
    }

    @Test
    void batchNormTrainingNeedsMoreThanOneValuePerChannel() {
        // Batch statistics of one value have no variance; PyTorch raises too. Inference still works.
        Graph g = Graph.builder().input("x", Shape.of(5)).then("bn1", new BatchNorm()).build();
        try (Parameters p = backend().createParameters(g, dataType()).initialize(1);
             Plan plan = backend().plan(g, 1, PlanOptions.forTraining().withDataType(dataType()).withPrecision(precision()));
             Executor ex = plan.bind(p)) {
            ex.input().write(new float[] {1, 2, 3, 4, 5});
            RuntimeException e = assertThrows(RuntimeException.class, () -> ex.forward(Pass.training(1, 0)));
            assertTrue(String.valueOf(e.getMessage()).contains("bn1"), "names the node: " + e.getMessage());
            ex.forward(Pass.inference());
            // (a bf16 output holds 5 / sqrt(1 + 1e-5) as 5: within the tolerance relative to the value)
            assertEquals(5f / (float) Math.sqrt(1 + 1e-5), ex.output().toArray()[4],
                    precision() == Precision.FLOAT32 ? 1e-5f : (float) (5 * tolerance()));
        }
    }

    @Test
    void bindingChecksParametersAndASharedArenaAndAClosedPlanBindsNothing() {
        Graph g = Graph.builder().input("pixels", IMAGE).then("conv", conv(5, 3, 3)).build();
        Graph other = Graph.builder().input("pixels", IMAGE).then("conv", conv(4, 3, 3)).build();
        Plan plan = backend().plan(g, 7, PlanOptions.forTraining().withDataType(dataType()));
        long need = plan.memory().arena().bytes();
        try (Parameters p = backend().createParameters(g, dataType());
             Parameters q = backend().createParameters(other, dataType());
             Tensor small = backend().allocate(Shape.of(1), dataType());
             Tensor big = backend().allocate(Shape.of(Math.toIntExact(need / 4 + 64)), dataType())) {
            var wrong = assertThrows(IllegalArgumentException.class, () -> plan.bind(q));
            assertTrue(wrong.getMessage().contains("conv.weight (4, 3, 3, 3)") && wrong.getMessage().contains("conv.weight (5, 3, 3, 3)"),
                    wrong.getMessage());
            if (need > small.bytes()) {
                var tooSmall = assertThrows(IllegalArgumentException.class, () -> plan.bind(p, small));
                assertTrue(tooSmall.getMessage().contains("at least " + need + " bytes"), tooSmall.getMessage());
            }
            Executor ex = plan.bind(p, big);
            plan.close();
            // Closing the plan closed its executor; binding again is refused.
            assertThrows(IllegalStateException.class, () -> ex.forward(Pass.inference()));
            var closed = assertThrows(IllegalStateException.class, () -> plan.bind(p));
            assertEquals("the plan is closed", closed.getMessage());
        }
    }

    /** An executor's inputs, output and gradients: the same answers and errors on every backend (spi.ExecutorTensors). */
    @Test
    void anExecutorNamesItsTensorsAndRefusesWhatItsPlanLacks() {
        Graph g = Graph.builder().input("pixels", IMAGE).then("conv", conv(5, 3, 3)).build();
        try (Parameters p = backend().createParameters(g, dataType());
             Plan inference = backend().plan(g, 2, PlanOptions.forInference().withDataType(dataType()));
             Plan training = backend().plan(g, 2, PlanOptions.forTraining().withDataType(dataType()));
             Plan withInputs = backend().plan(g, 2, PlanOptions.forTraining().withInputGradients().withDataType(dataType()))) {
            Executor inf = inference.bind(p);
            assertEquals(IMAGE.withBatch(2), inf.input("pixels").shape());
            assertEquals(g.output().outputShape().withBatch(2), inf.output().shape());
            var none = assertThrows(IllegalStateException.class, inf::outputGradient);
            assertEquals("an inference plan has no output gradient; compile with PlanOptions.forTraining()", none.getMessage());
            var name = assertThrows(IllegalArgumentException.class, () -> inf.input("image"));
            assertEquals("no input node named 'image'; inputs: [pixels]", name.getMessage());

            Executor train = training.bind(p);
            assertEquals(train.output().shape(), train.outputGradient().shape());
            var noInputs = assertThrows(IllegalStateException.class, () -> train.inputGradient("pixels"));
            assertEquals("the plan was compiled without input gradients; use PlanOptions.withInputGradients()",
                    noInputs.getMessage());

            Executor grads = withInputs.bind(p);
            assertEquals(IMAGE.withBatch(2), grads.inputGradient("pixels").shape());
            var notInput = assertThrows(IllegalArgumentException.class, () -> grads.inputGradient("conv"));
            assertEquals("'conv' is not an input node; inputs: [pixels]", notInput.getMessage());
        }
    }

    @Test
    void closingReturnsEveryByte() {
        Graph g = network();
        Backend b = backend();
        long start = b.memory().liveBytes();
        Parameters p = b.createParameters(g, dataType()).initialize(3);
        long withParameters = b.memory().liveBytes();
        Plan plan = b.plan(g, 7, PlanOptions.forTraining().withDataType(dataType()).withPrecision(precision()).withInputGradients());
        long withPlan = b.memory().liveBytes();
        Executor ex = plan.bind(p);
        ex.input().write(new float[7 * IMAGE.sizeAsInt()]);
        ex.forward(Pass.training(1, 0));
        ex.loss(new SoftmaxCrossEntropy(), Targets.labels(0, 1, 2, 3, 4, 5, 6), 1.0 / 7);
        ex.backward(GradientMode.OVERWRITE);
        assertTrue(b.memory().liveBytes() > withPlan, "binding allocates the step's buffers");
        ex.close();
        assertEquals(withPlan, b.memory().liveBytes(), "closing the executor frees what bind allocated");
        ex.close();
        assertEquals(withPlan, b.memory().liveBytes(), "close is idempotent");
        plan.close();
        assertEquals(withParameters, b.memory().liveBytes(), "closing the plan frees its own memory");
        plan.close();
        p.close();
        assertEquals(start, b.memory().liveBytes(), "closing the parameters frees them");
        p.close();
        assertEquals(start, b.memory().liveBytes());
    }

    @Test
    void allocatedTensorsAreZeroFilledAndRoundTrip() {
        long start = backend().memory().liveBytes();
        try (Tensor t = backend().allocate(Shape.of(3, 5), dataType())) {
            assertEquals(Shape.of(3, 5), t.shape());
            assertTrue(Arrays.equals(new float[15], t.toArray()), "zero-filled");
            float[] v = new float[15];
            for (int i = 0; i < v.length; i++) {
                v[i] = i * 0.25f - 1;
            }
            t.write(v);
            assertTrue(Arrays.equals(v, t.toArray()));
            float[] part = new float[4];
            t.read(6, part, 1, 3);
            assertTrue(Arrays.equals(new float[] {0, v[6], v[7], v[8]}, part));
            assertTrue(backend().memory().liveBytes() >= start + t.bytes());
        }
        assertEquals(start, backend().memory().liveBytes());
    }

    // ---- Running both backends ---------------------------------------------------------------

    /** Everything both backends are fed: float values so that both see exactly the same numbers. */
    record Data(Map<String, float[]> parameters, Map<String, float[]> inputs, float[] outputGradient, Targets targets) {

        static Data random(Case c, long salt, java.util.function.UnaryOperator<Float> representable) {
            SplittableRandom rng = new SplittableRandom(c.name().hashCode() * 31L + c.batch() + salt);
            Map<String, float[]> params = new LinkedHashMap<>();
            for (ParameterLayout.Slot s : new ParameterLayout(c.graph()).slots()) {
                // state (running mean and variance) in [0.5, 1.5): a variance must be positive
                float[] v = s.spec().trainable() ? uniform(rng, s.size(), -1, 1) : uniform(rng, s.size(), 0.5, 1.5);
                params.put(s.key(), s.spec().trainable() ? round(v, representable) : v); // statistics stay f32
            }
            Map<String, float[]> inputs = new LinkedHashMap<>();
            for (Node in : c.graph().inputs()) {
                inputs.put(in.name(), round(uniform(rng, in.outputShape().withBatch(c.batch()).size(), -1, 1), representable));
            }
            Shape out = c.graph().output().outputShape();
            float[] dy = round(uniform(rng, out.withBatch(c.batch()).size(), -1, 1), representable);
            Targets targets = null;
            if (c.loss() instanceof MeanSquaredError) {
                targets = Targets.values(out, uniform(rng, out.withBatch(c.batch()).size(), -1, 1));
            } else if (c.loss() != null) {
                int[] labels = new int[c.batch()];
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = rng.nextInt(out.sizeAsInt());
                }
                targets = Targets.labels(labels);
            }
            return new Data(params, inputs, dy, targets);
        }

        private static float[] round(float[] a, java.util.function.UnaryOperator<Float> representable) {
            for (int i = 0; i < a.length; i++) {
                a[i] = representable.apply(a[i]);
            }
            return a;
        }

        private static float[] uniform(SplittableRandom rng, long n, double lo, double hi) {
            float[] a = new float[Math.toIntExact(n)];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (lo + (hi - lo) * rng.nextDouble());
            }
            return a;
        }

        void load(Parameters p, Executor ex) {
            for (ParameterLayout.Slot s : p.layout().slots()) {
                p.write(s.node().name(), s.spec().name(), parameters.get(s.key()));
            }
            inputs.forEach((name, v) -> ex.input(name).write(v));
        }
    }

    /** What one backend computed, by name: {@code output}, {@code d input x}, {@code d conv1.weight}, ... */
    private static final class Result {
        final Map<String, double[]> tensors = new LinkedHashMap<>();
        LossResult loss;
    }

    private Result run(Backend b, DataType type, Case c, Data d, boolean accumulate) {
        Graph g = c.graph();
        Result r = new Result();
        try (Parameters p = b.createParameters(g, type);
             Plan plan = b.plan(g, c.batch(), new PlanOptions(type, true, true, b == oracle ? Precision.FLOAT32 : precision()));
             Executor ex = plan.bind(p)) {
            d.load(p, ex);
            ex.forward(Pass.training(SEED, FIRST_SAMPLE));
            r.tensors.put("output", ex.output().toDoubles());
            if (c.loss() != null) {
                r.loss = ex.loss(c.loss(), d.targets(), 1.0 / c.batch());
                r.tensors.put("output gradient from the loss", ex.outputGradient().toDoubles());
            } else {
                ex.outputGradient().write(d.outputGradient());
            }
            ex.backward(GradientMode.OVERWRITE);
            for (Node in : g.inputs()) {
                r.tensors.put("d input " + in.name(), ex.inputGradient(in.name()).toDoubles());
            }
            ParameterLayout layout = p.layout();
            // Gradients in logical order (packed, whatever the storage order and layout); the state tensor as stored.
            double[] grads = doubles(p.logicalGradients());
            double[] state = p.state().toDoubles();
            for (ParameterLayout.Slot s : layout.slots()) {
                if (s.spec().trainable()) {
                    r.tensors.put("d " + s.key(), slice(grads, s.logicalOffset(), s));
                } else {
                    r.tensors.put(s.key() + " after the training pass", slice(state, s.offset(), s));
                }
            }
            if (accumulate) {
                ex.backward(GradientMode.ACCUMULATE);
                double[] twice = doubles(p.logicalGradients());
                for (ParameterLayout.Slot s : layout.slots()) {
                    if (s.spec().trainable()) {
                        r.tensors.put("d " + s.key() + " after OVERWRITE + ACCUMULATE", slice(twice, s.logicalOffset(), s));
                    }
                }
            }
            ex.forward(Pass.inference());
            r.tensors.put("inference output", ex.output().toDoubles());
        }
        return r;
    }

    private static double[] doubles(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static double[] slice(double[] flat, long offset, ParameterLayout.Slot s) {
        return Arrays.copyOfRange(flat, Math.toIntExact(offset), Math.toIntExact(offset + s.size()));
    }

    private void assertMatches(Case c, boolean accumulate) {
        assertMatches(c, accumulate, tolerance());
    }

    private void assertMatches(Case c, boolean accumulate, double tolerance) {
        Data d = Data.random(c, 0, this::representable);
        Result expected = run(oracle, DataType.FLOAT64, c, d, accumulate);
        Result actual = run(backend(), dataType(), c, d, accumulate);
        List<String> failures = new ArrayList<>();
        for (var e : expected.tensors.entrySet()) {
            double[] a = actual.tensors.get(e.getKey());
            boolean pattern = c.samePattern() && (e.getKey().equals("output") || e.getKey().startsWith("d input"));
            compare(e.getKey(), a, e.getValue(), pattern, failures, tolerance);
        }
        if (accumulate) {
            // ACCUMULATE after OVERWRITE of the same micro-batch doubles the gradient, on the backend itself
            for (var e : actual.tensors.entrySet()) {
                if (e.getKey().endsWith(" after OVERWRITE + ACCUMULATE")) {
                    String once = e.getKey().replace(" after OVERWRITE + ACCUMULATE", "");
                    double[] doubled = actual.tensors.get(once).clone();
                    for (int i = 0; i < doubled.length; i++) {
                        doubled[i] *= 2;
                    }
                    compare(e.getKey() + " = 2 x " + once, e.getValue(), doubled, false, failures, tolerance);
                }
            }
        }
        if (expected.loss != null) {
            LossResult a = actual.loss;
            LossResult b = expected.loss;
            double err = Math.abs(a.sum() - b.sum()) / Math.max(1, Math.abs(b.sum()));
            if (!(err <= tolerance)) {
                failures.add(String.format("loss sum: %.8g, reference %.8g (error %.3g)", a.sum(), b.sum(), err));
            }
            if (a.terms() != b.terms() || a.samples() != b.samples() || a.correct() != b.correct()) {
                failures.add("loss counts: " + a + ", reference " + b);
            }
        }
        assertTrue(failures.isEmpty(), () -> c + " differs from the reference:\n  " + String.join("\n  ", failures));
    }

    /** Appends a failure when {@code actual} is not within {@link #tolerance()} of {@code expected}. */
    private void compare(String what, double[] actual, double[] expected, boolean samePattern, List<String> failures) {
        compare(what, actual, expected, samePattern, failures, tolerance());
    }

    private void compare(String what, double[] actual, double[] expected, boolean samePattern, List<String> failures,
                         double tolerance) {
        if (actual == null || actual.length != expected.length) {
            failures.add(what + ": " + (actual == null ? "missing" : actual.length + " values, reference " + expected.length));
            return;
        }
        double diff = 0;
        double scale = 1;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(actual[i] - expected[i]);
            if (!(d <= diff)) {   // NaN counts as the worst
                diff = d;
                worst = i;
            }
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        double err = diff / scale;
        if (!(err <= tolerance)) {
            failures.add(String.format("%s: error %.3g at element %d (got %.8g, reference %.8g)", what, err, worst,
                    actual[worst], expected[worst]));
        }
        if (samePattern) {
            for (int i = 0; i < expected.length; i++) {
                if ((actual[i] == 0) != (expected[i] == 0)) {
                    failures.add(String.format("%s: element %d is %s, reference %s: a different dropout mask", what, i,
                            actual[i], expected[i]));
                    break;
                }
            }
        }
    }
}
