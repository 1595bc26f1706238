package io.batchwise.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Parameters;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Tanh;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.spi.GradientSource;
import io.batchwise.spi.StepGradients;
import io.batchwise.spi.StepRequest;
import io.batchwise.train.BatchNormMode;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Schedule;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import io.batchwise.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The trainer's guarantees, run against each backend: gradient accumulation equals one big batch,
 * determinism, the three regimes converge, and checkpoints resume bit-identically.
 * Weights are compared with {@code max|a - b| / max(1, max|b|)}.
 */
public abstract class TrainingSuite {

    /** The backend under test. */
    protected abstract Backend backend();

    /** Whether the backend implements exact BatchNorm ({@code Executor.fixBatchNorm}); a backend without it says so. */
    protected boolean exactBatchNorm() {
        return true;
    }

    // --- models and data (small: the reference backend runs them too) ---

    static Graph mlp() {
        return Graph.builder().input("x", Shape.of(20))
                .then("fc1", new Dense(16)).then("relu1", new ReLU())
                .then("fc2", new Dense(12)).then("tanh", new Tanh())
                .then("fc3", new Dense(4)).build();
    }

    static Graph cnn() {
        return Graph.builder().input("x", Shape.of(1, 8, 8))
                .then("conv1", Conv2d.of(3, 3).padding(1)).then("relu1", new ReLU())
                .then("pool1", MaxPool2d.of(2))
                .then("conv2", Conv2d.of(5, 3)).then("relu2", new ReLU())
                .then("fc", new Dense(4)).build();
    }

    static Graph residual() {
        return Graph.builder().input("x", Shape.of(1, 8, 8))
                .then("stem", Conv2d.of(4, 3).padding(1)).then("relu0", new ReLU())
                .then("conv1", Conv2d.of(4, 3).padding(1)).then("relu1", new ReLU())
                .then("conv2", Conv2d.of(4, 3).padding(1))
                .add("sum", new Add(), "relu0", "conv2").then("relu2", new ReLU())
                .then("pool", AvgPool2d.of(2))
                .then("fc", new Dense(4)).build();
    }

    static Graph withBatchNorm() {
        return Graph.builder().input("x", Shape.of(1, 8, 8))
                .then("conv1", Conv2d.of(3, 3)).then("bn1", new BatchNorm()).then("relu1", new ReLU())
                .then("fc", new Dense(4)).build();
    }

    static Graph withDropout() {
        return Graph.builder().input("x", Shape.of(20))
                .then("fc1", new Dense(16)).then("relu1", new ReLU()).then("drop", new Dropout(0.3f))
                .then("fc2", new Dense(4)).build();
    }

    /** Gaussian inputs; labels among 4 classes from a fixed random linear teacher, so the task is learnable. */
    static InMemoryDataset data(Shape sample, int n, long seed) {
        return teacherData(sample, 4, n, seed);
    }

    /** Gaussian inputs; labels among {@code classes} from a fixed random linear teacher (seed 1234), so the task is learnable. */
    public static InMemoryDataset teacherData(Shape sample, int classes, int n, long seed) {
        Random r = new Random(seed);
        int per = sample.sizeAsInt();
        float[] x = new float[n * per];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        double[][] teacher = new double[classes][per];
        Random tr = new Random(1234);
        for (double[] row : teacher) {
            for (int j = 0; j < per; j++) {
                row[j] = tr.nextGaussian();
            }
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < classes; k++) {
                double s = 0;
                for (int j = 0; j < per; j++) {
                    s += teacher[k][j] * x[i * per + j];
                }
                if (s > best) {
                    best = s;
                    y[i] = k;
                }
            }
        }
        return InMemoryDataset.labelled(x, sample, y);
    }

    private Trainer trainer(Graph g, Optimizer opt, int big, int micro, long seed) {
        return Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(opt)
                .batch(BatchSize.mini(big)).microBatch(micro).seed(seed).build();
    }

    private static int[] identity(int n) {
        int[] o = new int[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
        }
        return o;
    }

    static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double scale = 1;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    // --- accumulation equals one big batch ---

    static Stream<Arguments> splits() {
        List<Arguments> cases = new ArrayList<>();
        String[] names = {"mlp", "cnn", "residual"};
        for (String model : names) {
            cases.add(Arguments.of(model, 512, 64));  // 8 x 64
            cases.add(Arguments.of(model, 512, 8));   // 64 x 8
            cases.add(Arguments.of(model, 512, 1));   // 512 x 1
            cases.add(Arguments.of(model, 500, 64));  // 7 x 64 + a short 52
        }
        return cases.stream();
    }

    static Graph model(String name) {
        return switch (name) {
            case "mlp" -> mlp();
            case "cnn" -> cnn();
            case "residual" -> residual();
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest(name = "{0}: B = {1} in micro-batches of {2}")
    @MethodSource("splits")
    void accumulatedStepEqualsOneBigStep(String name, int big, int micro) {
        Graph g = model(name);
        InMemoryDataset d = data(g.inputs().get(0).outputShape(), big, 11);
        Optimizer sgd = Optimizer.Sgd.momentum(0.5, 0.9);
        try (Trainer whole = trainer(g, sgd, big, big, 3); Trainer split = trainer(g, sgd, big, micro, 3)) {
            StepMetrics a = whole.trainBatch(d, identity(big), 0, big);
            StepMetrics b = split.trainBatch(d, identity(big), 0, big);
            assertEquals((big + micro - 1) / micro, b.microBatches());
            assertEquals(a.loss(), b.loss(), 1e-5 * Math.abs(a.loss()));
            assertEquals(a.accuracy(), b.accuracy(), 0);
            float[] wa = whole.parameters().logicalValues();
            float[] wb = split.parameters().logicalValues();
            assertTrue(relativeError(wb, wa) <= 1e-5, "weights differ by " + relativeError(wb, wa));
            // The step moved the weights by far more than the tolerance: the check has teeth.
            try (Trainer fresh = trainer(g, sgd, big, big, 3)) {
                assertTrue(relativeError(fresh.parameters().logicalValues(), wa) > 1e-3);
            }
        }
    }

    @ParameterizedTest(name = "{0}: 20 Adam steps, B = 128 vs 4 x 32")
    @MethodSource("modelNames")
    void twentyAdamStepsMatch(String name) {
        Graph g = model(name);
        InMemoryDataset d = data(g.inputs().get(0).outputShape(), 128 * 20, 5);
        Optimizer adam = Optimizer.Adam.of(1e-2);
        try (Trainer whole = trainer(g, adam, 128, 128, 9); Trainer split = trainer(g, adam, 128, 32, 9)) {
            whole.fit(d, 1, 20);
            split.fit(d, 1, 20);
            assertEquals(20, split.step());
            float[] wa = whole.parameters().logicalValues();
            float[] wb = split.parameters().logicalValues();
            assertTrue(relativeError(wb, wa) <= 1e-5, "weights differ by " + relativeError(wb, wa));
        }
    }

    @Test
    void gradientNormIsReportedWhenAskedAndClippingScalesTheStep() {
        Graph g = mlp();
        int n = 24;
        InMemoryDataset d = data(g.inputs().get(0).outputShape(), n, 13);
        double lr = 0.1;
        Optimizer sgd = Optimizer.Sgd.plain(lr);
        try (Trainer fresh = trainer(g, sgd, n, n, 3);
             Trainer silent = trainer(g, sgd, n, n, 3);
             Trainer reporting = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(sgd)
                     .batch(BatchSize.mini(n)).microBatch(n).seed(3).reportGradientNorm(true).build()) {
            float[] w0 = fresh.parameters().logicalValues();
            StepMetrics quiet = silent.trainBatch(d, identity(n), 0, n);
            StepMetrics told = reporting.trainBatch(d, identity(n), 0, n);
            assertTrue(Double.isNaN(quiet.gradientNorm()), "no norm unless asked: " + quiet.gradientNorm());
            float[] w1 = reporting.parameters().logicalValues();
            assertEquals(0, relativeError(silent.parameters().logicalValues(), w1), 0, "the norm changes nothing");
            // Plain SGD: w1 = w0 - lr g, so |g| = |w0 - w1| / lr.
            double norm = told.gradientNorm();
            assertEquals(displacement(w0, w1) / lr, norm, 1e-4 * norm);
            assertTrue(norm > 0.05, "a gradient worth clipping: " + norm);
            try (Trainer clipped = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(sgd)
                    .batch(BatchSize.mini(n)).microBatch(n).seed(3).clipGradientNorm(norm / 2).build()) {
                StepMetrics c = clipped.trainBatch(d, identity(n), 0, n);
                assertEquals(norm, c.gradientNorm(), 1e-5 * norm, "the norm before clipping");
                float[] w2 = clipped.parameters().logicalValues();
                assertEquals(norm / 2, displacement(w0, w2) / lr, 1e-4 * norm, "the step is clipped to half");
            }
        }
    }

    private static double displacement(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        }
        return Math.sqrt(s);
    }

    static Stream<String> modelNames() {
        return Stream.of("mlp", "cnn", "residual");
    }

    @Test
    void dropoutMasksDoNotDependOnTheSplit() {
        Graph g = withDropout();
        InMemoryDataset d = data(Shape.of(20), 64, 2);
        try (Trainer whole = trainer(g, Optimizer.Sgd.plain(0.5), 64, 64, 4);
             Trainer split = trainer(g, Optimizer.Sgd.plain(0.5), 64, 8, 4)) {
            whole.fit(d, 3, Long.MAX_VALUE);
            split.fit(d, 3, Long.MAX_VALUE);
            float[] wa = whole.parameters().logicalValues();
            assertTrue(relativeError(split.parameters().logicalValues(), wa) <= 1e-5);
        }
    }

    /**
     * Ghost BatchNorm: the trainer's gradient over 4 micro-batches of 16 equals the sum of 4 separately
     * computed micro-batch gradients (each the mean over its 16 samples with its own statistics, weighted
     * 16/64), and differs from the gradient of one batch of 64 (whose statistics span all 64).
     */
    @Test
    void ghostBatchNormIsPerMicroBatch() {
        Graph g = withBatchNorm();
        InMemoryDataset d = data(Shape.of(1, 8, 8), 64, 8);
        int[] all = identity(64);
        try (Trainer split = trainer(g, Optimizer.Sgd.plain(0), 64, 16, 6);
             Trainer whole = trainer(g, Optimizer.Sgd.plain(0), 64, 64, 6)) {
            assertTrue(split.report(64).contains("ghost statistics over each micro-batch of 16"), split.report(64));
            split.trainBatch(d, all, 0, 64);
            whole.trainBatch(d, all, 0, 64);
            float[] accumulated = split.parameters().logicalGradients();
            float[] summed = new float[accumulated.length];
            for (int part = 0; part < 4; part++) {
                try (Trainer one = trainer(g, Optimizer.Sgd.plain(0), 16, 16, 6)) {
                    one.trainBatch(d, all, part * 16, 16);
                    float[] g16 = one.parameters().logicalGradients();
                    for (int i = 0; i < summed.length; i++) {
                        summed[i] += g16[i] * 16f / 64f;
                    }
                }
            }
            assertTrue(relativeError(accumulated, summed) <= 1e-5, "differs by " + relativeError(accumulated, summed));
            float[] big = whole.parameters().logicalGradients();
            assertTrue(relativeError(accumulated, big) > 1e-3, "ghost statistics should differ from the big batch's");
        }
    }

    /** Two 2d BatchNorms after convolutions and a 1d one after a Dense layer. */
    static Graph withThreeBatchNorms() {
        return Graph.builder().input("x", Shape.of(2, 6, 6))
                .then("conv1", Conv2d.of(3, 3)).then("bn1", new BatchNorm()).then("relu1", new ReLU())
                .then("conv2", Conv2d.of(4, 3).padding(1)).then("bn2", new BatchNorm()).then("relu2", new ReLU())
                .then("fc1", new Dense(8)).then("bn3", new BatchNorm()).then("relu3", new ReLU())
                .then("fc", new Dense(4)).build();
    }

    /**
     * Exact BatchNorm: an effective batch of 24 as 3 x 8, as 5 x 5 (4 samples in the last) and as 4 x 7 (3 in
     * the last) gives the gradient, the running statistics and, after 3 SGD-with-momentum steps, the weights
     * of one batch of 24, whose statistics span all 24 samples; ghost statistics do not. (Not Adam: a
     * convolution bias before BatchNorm has a gradient of exactly zero in theory, rounding noise in practice,
     * and Adam turns noise of any size into steps of size lr.)
     */
    @Test
    void exactBatchNormEqualsOneBigBatch() {
        org.junit.jupiter.api.Assumptions.assumeTrue(exactBatchNorm(), backend().name() + " has no exact BatchNorm yet");
        Graph g = withThreeBatchNorms();
        InMemoryDataset d = data(Shape.of(2, 6, 6), 72, 9);
        int[] all = identity(72);
        Optimizer sgd = Optimizer.Sgd.momentum(0.1, 0.9);
        float[][] whole = new float[3][];
        try (Trainer t = trainer(g, sgd, 24, 24, 6)) {
            t.trainBatch(d, all, 0, 24);
            whole[0] = t.parameters().logicalGradients();
            t.trainBatch(d, all, 24, 24);
            t.trainBatch(d, all, 48, 24);
            whole[1] = t.parameters().logicalValues();
            whole[2] = t.parameters().state().toArray();
        }
        for (int micro : new int[] {8, 5, 7}) {
            try (Trainer t = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(sgd)
                    .batch(BatchSize.mini(24)).microBatch(micro).batchNorm(BatchNormMode.EXACT).seed(6).build()) {
                assertTrue(t.report(24).contains("exact statistics over the effective batch of 24"), t.report(24));
                t.trainBatch(d, all, 0, 24);
                double eg = relativeError(t.parameters().logicalGradients(), whole[0]);
                assertTrue(eg <= 1e-5, "micro-batch " + micro + ": gradient differs by " + eg);
                t.trainBatch(d, all, 24, 24);
                t.trainBatch(d, all, 48, 24);
                double ew = relativeError(t.parameters().logicalValues(), whole[1]);
                double es = relativeError(t.parameters().state().toArray(), whole[2]);
                assertTrue(ew <= 1e-5, "micro-batch " + micro + ": weights after 3 steps differ by " + ew);
                assertTrue(es <= 1e-5, "micro-batch " + micro + ": running statistics differ by " + es);
            }
        }
        try (Trainer ghost = trainer(g, sgd, 24, 8, 6)) {
            ghost.trainBatch(d, all, 0, 24);
            assertTrue(relativeError(ghost.parameters().logicalGradients(), whole[0]) > 1e-3,
                    "ghost statistics should differ from the big batch's");
        }
    }

    /**
     * Exact BatchNorm gathers statistics from micro-batches, so a 1d BatchNorm needs two samples per micro-batch:
     * micro-batches of one are refused with the node's name, and nothing is updated.
     */
    @Test
    void exactBatchNormRefusesMicroBatchesOfOneSampleForA1dBatchNorm() {
        org.junit.jupiter.api.Assumptions.assumeTrue(exactBatchNorm(), backend().name() + " has no exact BatchNorm yet");
        Graph g = withThreeBatchNorms();
        InMemoryDataset d = data(Shape.of(2, 6, 6), 8, 9);
        try (Trainer t = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Sgd.plain(0.1))
                .batch(BatchSize.mini(8)).microBatch(1).batchNorm(BatchNormMode.EXACT).seed(6).build()) {
            float[] before = t.parameters().logicalValues();
            float[] stateBefore = t.parameters().state().toArray();
            var e = assertThrows(IllegalStateException.class, () -> t.trainBatch(d, identity(8), 0, 8));
            assertTrue(e.getMessage().contains("bn3"), e.getMessage());
            assertArrayEquals(before, t.parameters().logicalValues());
            assertArrayEquals(stateBefore, t.parameters().state().toArray());
        }
    }

    // --- gradient noise scale ---

    /**
     * Linear regression y = w*.x + eps, x ~ N(0, I_d), eps ~ N(0, s^2), per-sample loss (w.x - y)^2, held at
     * w = 0 (learning rate 0) so delta = w - w* is fixed. The per-sample gradient is 2 (delta.x - eps) x, so
     * G = 2 delta and, by Isserlis' theorem, E[grad grad^T] = 4 (|delta|^2 I + 2 delta delta^T + s^2 I):
     * |G|^2 = 4 |delta|^2, tr(Sigma) = 4 ((d + 1) |delta|^2 + d s^2), B_simple = (d + 1) + d s^2 / |delta|^2.
     * With d = 8, w* = (0.5, ..., 0.5), s = 1: |G|^2 = 8, tr(Sigma) = 104, B_simple = 13.
     */
    static final int NOISE_D = 8;

    private static InMemoryDataset regression(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * NOISE_D];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            double t = 0;
            for (int j = 0; j < NOISE_D; j++) {
                x[i * NOISE_D + j] = (float) r.nextGaussian();
                t += 0.5 * x[i * NOISE_D + j];
            }
            y[i] = (float) (t + r.nextGaussian());
        }
        return InMemoryDataset.regression(x, Shape.of(NOISE_D), y, Shape.of(1));
    }

    private Trainer regressionTrainer(double decay) {
        Graph g = Graph.builder().input("x", Shape.of(NOISE_D))
                .then("w", new Dense(1, false, io.batchwise.layer.Init.zeros(), io.batchwise.layer.Init.zeros())).build();
        return Trainer.builder(g, backend()).loss(new io.batchwise.loss.MeanSquaredError()).optimizer(Optimizer.Sgd.plain(0))
                .batch(BatchSize.mini(32)).microBatch(4).noiseScaleDecay(decay).seed(3).build();
    }

    @Test
    void noiseScaleIsWithinTwentyPercentOfTheAnalyticValue() {
        InMemoryDataset d = regression(40_000, 1);
        try (Trainer t = regressionTrainer(0.995)) {
            t.fit(d, 1, Long.MAX_VALUE);
            double b = t.noiseScale().orElseThrow().simple();
            assertEquals(1250, t.noiseScale().get().count());
            assertTrue(Math.abs(b - 13) <= 0.2 * 13, "B_simple " + b + ", analytic 13");
        }
    }

    /**
     * Each step's raw pair (decay 0) is an unbiased estimate of |G|^2 and tr(Sigma): over 1250 steps, each on
     * fresh samples (independent draws, as different seeds would be), their means lie within 4 standard errors
     * of 8 and 104. Four standard errors leave a false-failure rate near 6e-5 while a biased estimator (e.g.
     * one that forgot the b/B weighting, off by a factor of 2 or more) lands tens of errors away.
     */
    @Test
    void noiseScaleEstimatesAreUnbiased() {
        InMemoryDataset d = regression(40_000, 2);
        List<double[]> pairs = new ArrayList<>();
        try (Trainer t = regressionTrainer(0)) {
            int[] order = new int[d.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            for (int from = 0; from + 32 <= d.size(); from += 32) {
                t.trainBatch(d, order, from, 32);
                var n = t.noiseScale().orElseThrow();
                pairs.add(new double[] {n.gradientNormSquared(), n.traceCovariance()});
            }
        }
        double[] truth = {8, 104};
        for (int k = 0; k < 2; k++) {
            double mean = 0;
            for (double[] p : pairs) {
                mean += p[k];
            }
            mean /= pairs.size();
            double var = 0;
            for (double[] p : pairs) {
                var += (p[k] - mean) * (p[k] - mean);
            }
            double stderr = Math.sqrt(var / (pairs.size() - 1) / pairs.size());
            assertTrue(Math.abs(mean - truth[k]) <= 4 * stderr, (k == 0 ? "|G|^2" : "tr(Sigma)") + ": mean " + mean
                    + " vs " + truth[k] + " (standard error " + stderr + ")");
        }
    }

    // --- recovery from allocation failures ---

    /**
     * Binding at micro-batch 64 fails, then the third forward pass of the next step fails mid-step
     * (after two micro-batches were accumulated): the trainer halves b each time, redoes the effective
     * batch, and ends with the same weights as a run that never failed.
     */
    @Test
    void allocationFailuresHalveTheMicroBatchAndLoseNothing() {
        Graph g = withBatchNorm();
        InMemoryDataset d = data(Shape.of(1, 8, 8), 128, 12);
        FaultInjectingBackend faulty = new FaultInjectingBackend(backend()).failBindAbove(32);
        try (Trainer t = Trainer.builder(g, faulty).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                     .batch(BatchSize.mini(128)).microBatch(64).seed(5).build()) {
            t.trainBatch(d, identity(128), 0, 128);
            assertEquals(1, faulty.injected());
            assertEquals(32, t.microBatch());
            faulty.failForwardCall(3);
            StepMetrics m = t.trainBatch(d, identity(128), 0, 128);
            assertEquals(2, faulty.injected());
            assertEquals(16, t.microBatch());
            assertEquals(8, m.microBatches());
            assertEquals(128, m.batch());
        }
        // The exact check on a model without BatchNorm, whose result does not depend on b.
        Graph plain = cnn();
        FaultInjectingBackend f2 = new FaultInjectingBackend(backend());
        try (Trainer clean = trainer(plain, Optimizer.Adam.of(1e-2), 128, 128, 5);
             Trainer t = Trainer.builder(plain, f2).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                     .batch(BatchSize.mini(128)).microBatch(32).seed(5).build()) {
            f2.failForwardCall(3);
            for (int i = 0; i < 3; i++) {
                t.trainBatch(d, identity(128), 0, 128);
                clean.trainBatch(d, identity(128), 0, 128);
            }
            assertEquals(1, f2.injected());
            assertEquals(16, t.microBatch());
            float[] wa = clean.parameters().logicalValues();
            assertTrue(relativeError(t.parameters().logicalValues(), wa) <= 1e-5);
        }
    }

    /** BatchNorm running statistics updated by a failed attempt are rolled back before the redo. */
    @Test
    void recoveryRestoresBatchNormState() {
        Graph g = withBatchNorm();
        InMemoryDataset d = data(Shape.of(1, 8, 8), 64, 12);
        FaultInjectingBackend faulty = new FaultInjectingBackend(backend());
        try (Trainer clean = trainer(g, Optimizer.Sgd.plain(0.1), 64, 16, 5);
             Trainer t = Trainer.builder(g, faulty).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Sgd.plain(0.1))
                     .batch(BatchSize.mini(64)).microBatch(32).seed(5).build()) {
            faulty.failForwardCall(2); // the first micro-batch of 32 already updated the running statistics
            t.trainBatch(d, identity(64), 0, 64);
            clean.trainBatch(d, identity(64), 0, 64);
            assertEquals(16, t.microBatch());
            assertArrayEquals(clean.parameters().state().toArray(), t.parameters().state().toArray());
            assertArrayEquals(clean.parameters().logicalValues(), t.parameters().logicalValues());
        }
    }

    // --- determinism and regimes ---

    @Test
    void sameSeedGivesBitIdenticalWeights() {
        Graph g = cnn();
        InMemoryDataset d = data(Shape.of(1, 8, 8), 256, 3);
        try (Trainer a = trainer(g, Optimizer.Adam.of(1e-2), 32, 8, 21); Trainer b = trainer(g, Optimizer.Adam.of(1e-2), 32, 8, 21)) {
            a.fit(d, 2, Long.MAX_VALUE);
            b.fit(d, 2, Long.MAX_VALUE);
            assertArrayEquals(a.parameters().logicalValues(), b.parameters().logicalValues());
        }
    }

    @Test
    void fullBatchGradientDescentDecreasesTheLossEveryStep() {
        Graph g = mlp();
        InMemoryDataset d = data(Shape.of(20), 200, 4);
        List<Double> losses = new ArrayList<>();
        try (Trainer t = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Sgd.plain(0.05))
                .batch(BatchSize.full()).microBatch(64).seed(2)
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        losses.add(m.loss());
                    }
                }).build()) {
            t.fit(d, 30, Long.MAX_VALUE);
            assertEquals(30, t.step()); // one step per epoch
        }
        for (int i = 1; i < losses.size(); i++) {
            assertTrue(losses.get(i) < losses.get(i - 1), "loss rose at step " + (i + 1) + ": " + losses);
        }
    }

    @Test
    void miniBatchAndStochasticTrainingConverge() {
        Graph g = mlp();
        InMemoryDataset train = data(Shape.of(20), 400, 4);
        for (BatchSize b : List.of(BatchSize.mini(32), BatchSize.stochastic())) {
            try (Trainer t = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy())
                    .optimizer(b instanceof BatchSize.Mini m && m.samples() == 1 ? Optimizer.Sgd.plain(0.01) : Optimizer.Sgd.momentum(0.05, 0.9))
                    .batch(b).microBatch(16).seed(2).schedule(Schedule.constant()).build()) {
                double before = t.evaluate(train).mean();
                t.fit(train, 8, Long.MAX_VALUE);
                LossResult after = t.evaluate(train);
                assertTrue(after.mean() < 0.5 * before, b + ": loss " + before + " -> " + after.mean());
                assertTrue(after.accuracy() > 0.85, b + ": accuracy " + after.accuracy());
            }
        }
    }

    // --- gradients from elsewhere (GradientSource): the law B = b x k x W inside one JVM ---

    /**
     * W workers in this JVM, each a Trainer of its own: worker {@code w} takes the step's samples at positions
     * {@code w, w + W, w + 2W, ...} (not contiguous, as a cluster's shards are), sums their gradients with
     * {@link Trainer#gradientSum} (given those positions, which key the dropout masks), and the driver adds the W sums in worker order (logical order, as if sent).
     */
    static final class InProcessWorkers implements GradientSource {
        private final List<Trainer> workers = new ArrayList<>();
        private final InMemoryDataset data;
        int passes;

        InProcessWorkers(List<Trainer> workers, InMemoryDataset data) {
            this.workers.addAll(workers);
            this.data = data;
        }

        @Override
        public StepGradients accumulate(StepRequest r, Parameters p) {
            int w = workers.size();
            float[] weights = p.logicalValues();
            float[] sum = null;
            LossResult loss = LossResult.ZERO;
            int passes = 0;
            for (int i = 0; i < w; i++) {
                int[] mine = new int[(r.count() - i + w - 1) / w];
                int[] positions = new int[mine.length]; // in the effective batch: what dropout masks are keyed by
                for (int j = 0; j < mine.length; j++) {
                    positions[j] = i + j * w;
                    mine[j] = r.order()[r.from() + positions[j]];
                }
                if (mine.length == 0) {
                    continue;
                }
                Trainer t = workers.get(i);
                t.parameters().writeLogicalValues(weights);
                StepGradients g = t.gradientSum(data, mine, 0, mine.length, r.scale(), r.dropoutSeed(), positions);
                float[] part = t.parameters().logicalGradients();
                if (sum == null) {
                    sum = part;
                } else {
                    for (int j = 0; j < sum.length; j++) {
                        sum[j] += part[j];
                    }
                }
                loss = loss.plus(g.loss());
                passes += g.passes();
            }
            p.gradients().write(p.toStored(sum));
            this.passes = passes;
            return new StepGradients(loss, passes);
        }

        @Override
        public void close() {
            workers.forEach(Trainer::close);
        }
    }

    static Stream<Arguments> workerSplits() {
        return Stream.of(
                Arguments.of("mlp", 2, 48, 16),   // B = 96 = 2 workers x 3 micro-batches of 16
                Arguments.of("cnn", 3, 64, 8),    // 64 over 3 workers: shares of 22, 21, 21
                Arguments.of("mlp", 3, 100, 16)); // 100 not divisible by 3 x 16; 300 samples: a short last batch
    }

    @ParameterizedTest(name = "{0}: W = {1} workers, B = {2}, micro-batch {3}")
    @MethodSource("workerSplits")
    void workersGiveTheStepOfOneProcess(String name, int w, int big, int micro) {
        Graph g = model(name);
        InMemoryDataset d = data(g.inputs().get(0).outputShape(), 3 * big - big / 3, 17);
        Optimizer adam = Optimizer.Adam.of(1e-2);
        List<Trainer> ws = new ArrayList<>();
        for (int i = 0; i < w; i++) {
            ws.add(trainer(g, adam, big, micro, 5));
        }
        try (Trainer single = trainer(g, adam, big, micro, 5); InProcessWorkers source = new InProcessWorkers(ws, d);
             Trainer driver = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(adam)
                     .batch(BatchSize.mini(big)).seed(5).gradientSource(source).build()) {
            single.fit(d, 100, 20);
            driver.fit(d, 100, 20);
            assertEquals(20, driver.step());
            assertEquals(single.epoch(), driver.epoch());
            float[] a = single.parameters().logicalValues();
            float[] b = driver.parameters().logicalValues();
            assertTrue(relativeError(b, a) <= 1e-5, "weights differ by " + relativeError(b, a));
            try (Trainer fresh = trainer(g, adam, big, micro, 5)) {
                assertTrue(relativeError(fresh.parameters().logicalValues(), a) > 1e-3); // the check has teeth
            }
        }
    }

    /**
     * Dropout on W workers whose shares are not contiguous in the batch: each sample's mask is keyed by its position in
     * the effective batch ({@code Pass.sample(n)}), so the workers draw the masks of one process. A backend whose mask
     * kernel takes contiguous positions only must refuse such a pass by name (cudnn).
     */
    @Test
    void workersWithDropoutDrawTheMasksOfOneProcess() {
        Graph g = withDropout();
        InMemoryDataset d = data(Shape.of(20), 150, 23);
        Optimizer adam = Optimizer.Adam.of(1e-2);
        List<Trainer> ws = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ws.add(trainer(g, adam, 40, 8, 9));
        }
        try (Trainer single = trainer(g, adam, 40, 8, 9); InProcessWorkers source = new InProcessWorkers(ws, d);
             Trainer driver = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(adam)
                     .batch(BatchSize.mini(40)).seed(9).gradientSource(source).build()) {
            single.fit(d, 100, 15);
            try {
                driver.fit(d, 100, 15);
            } catch (RuntimeException e) {
                for (Throwable c = e; c != null; c = c.getCause()) {
                    if (c instanceof UnsupportedOperationException && String.valueOf(c.getMessage()).contains("not contiguous")) {
                        org.junit.jupiter.api.Assumptions.abort(backend().name() + " refuses it by name: " + c.getMessage());
                    }
                }
                throw e;
            }
            float[] a = single.parameters().logicalValues();
            assertTrue(relativeError(driver.parameters().logicalValues(), a) <= 1e-5,
                    "weights differ by " + relativeError(driver.parameters().logicalValues(), a));
        }
    }

    /**
     * A worker's share leaves a remainder of a new size every step; each new size would compile an executor. Without
     * BatchNorm the remainder runs as power-of-two passes (at most log2(b) sizes), the same sum; with BatchNorm as one
     * pass (its ghost statistics would see the split).
     */
    @Test
    void aSharesRemainderRunsAsPowerOfTwoPassesUnlessTheGraphHasBatchNorm() {
        InMemoryDataset d = data(Shape.of(20), 59, 3);
        int[] all = identity(59);
        try (Trainer split = trainer(mlp(), Optimizer.Sgd.plain(0), 64, 16, 1);
             Trainer whole = trainer(mlp(), Optimizer.Sgd.plain(0), 64, 64, 1)) {
            // 59 = 3 x 16 + 11, and 11 = 8 + 2 + 1; under a micro-batch of 64: 59 = 32 + 16 + 8 + 2 + 1.
            assertEquals(6, split.gradientSum(d, all, 0, 59, 1.0 / 59, 1).passes());
            assertEquals(5, whole.gradientSum(d, all, 0, 59, 1.0 / 59, 1).passes());
            float[] a = whole.parameters().logicalGradients();
            assertTrue(relativeError(split.parameters().logicalGradients(), a) <= 1e-5);
        }
        InMemoryDataset images = data(Shape.of(1, 8, 8), 59, 3);
        try (Trainer bn = trainer(withBatchNorm(), Optimizer.Sgd.plain(0), 64, 16, 1)) {
            assertEquals(4, bn.gradientSum(images, all, 0, 59, 1.0 / 59, 1).passes());
        }
    }

    @Test
    void oneWorkerRunsTheSingleProcessCodeBitForBit() {
        Graph g = cnn();
        InMemoryDataset d = data(Shape.of(1, 8, 8), 100, 6);
        Optimizer opt = Optimizer.Adam.of(1e-2);
        try (Trainer single = trainer(g, opt, 16, 8, 13); InProcessWorkers source = new InProcessWorkers(List.of(trainer(g, opt, 16, 8, 13)), d);
             Trainer driver = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(opt)
                     .batch(BatchSize.mini(16)).seed(13).gradientSource(source).build()) {
            single.fit(d, 100, 20);
            driver.fit(d, 100, 20);
            assertArrayEquals(single.parameters().logicalValues(), driver.parameters().logicalValues());
            assertEquals(2, source.passes); // the last step's 16 samples in micro-batches of 8
        }
    }

    @Test
    void aGradientSourceRefusesWhatNeedsTheFirstMicroBatch() {
        GradientSource none = (r, p) -> {
            throw new AssertionError("not called");
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Trainer.builder(withBatchNorm(), backend())
                .loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2)).batch(BatchSize.mini(16))
                .batchNorm(BatchNormMode.EXACT).gradientSource(none).build());
        assertTrue(e.getMessage().contains("exact BatchNorm"), e.getMessage());
    }

    // --- checkpoints ---

    @Test
    void resumeAfterStep7EqualsAnUninterruptedRunToStep20(@TempDir Path dir) throws IOException {
        Graph g = cnn();
        InMemoryDataset d = data(Shape.of(1, 8, 8), 100, 6); // B = 16: 7 batches per epoch, so step 7 ends an epoch
        Optimizer opt = Optimizer.Adam.of(1e-2);
        float[] expected;
        try (Trainer full = trainer(g, opt, 16, 8, 13)) {
            full.fit(d, 100, 20);
            expected = full.parameters().logicalValues();
        }
        Path ckpt = dir.resolve("run.ckpt");
        for (int stop : new int[] {7, 10}) {
            try (Trainer first = trainer(g, opt, 16, 8, 13)) {
                first.fit(d, 100, stop);
                first.save(ckpt);
            }
            try (Trainer second = trainer(g, opt, 16, 8, 13)) {
                second.restore(ckpt);
                assertEquals(stop, second.step());
                second.fit(d, 100, 20);
                assertArrayEquals(expected, second.parameters().logicalValues(), "resumed after step " + stop);
            }
        }
        assertTrue(Files.exists(ckpt) && !Files.exists(dir.resolve("run.ckpt.tmp")));
    }

    @Test
    void truncatedOrForeignCheckpointsAreRefusedWhole(@TempDir Path dir) throws IOException {
        Graph g = mlp();
        Path ckpt = dir.resolve("a.ckpt");
        try (Trainer t = trainer(g, Optimizer.Adam.of(1e-2), 16, 16, 1)) {
            t.fit(data(Shape.of(20), 64, 1), 1, 3);
            t.save(ckpt);
        }
        byte[] bytes = Files.readAllBytes(ckpt);
        Path truncated = dir.resolve("t.ckpt");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        Path foreign = dir.resolve("f.ckpt");
        Files.writeString(foreign, "definitely not a checkpoint");
        try (Trainer t = trainer(g, Optimizer.Adam.of(1e-2), 16, 16, 1)) {
            float[] before = t.parameters().logicalValues();
            var e = assertThrows(IOException.class, () -> t.restore(truncated));
            assertTrue(e.getMessage().contains("truncated or corrupt"), e.getMessage());
            e = assertThrows(IOException.class, () -> t.restore(foreign));
            assertTrue(e.getMessage().contains("not a Batchwise checkpoint"), e.getMessage());
            assertArrayEquals(before, t.parameters().logicalValues());
            assertEquals(0, t.step());
        }
        try (Trainer other = trainer(cnn(), Optimizer.Adam.of(1e-2), 16, 16, 1)) {
            var e = assertThrows(IOException.class, () -> other.restore(ckpt));
            assertTrue(e.getMessage().contains("another graph"), e.getMessage());
        }
        try (Trainer sgd = trainer(g, Optimizer.Sgd.plain(0.1), 16, 16, 1)) {
            var e = assertThrows(IOException.class, () -> sgd.restore(ckpt));
            assertTrue(e.getMessage().contains("adam"), e.getMessage());
        }
    }
}
