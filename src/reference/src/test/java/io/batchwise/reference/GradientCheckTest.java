package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
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
import io.batchwise.loss.MeanSquaredError;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Finite-difference checks of the reference backend's backward, in FLOAT64.
 *
 * <p>Objective: {@code f = sum(output * R)} for a fixed random R (the output gradient is then R),
 * or the loss sum for the loss cases. Every input element and every trainable parameter is
 * perturbed by +-h, h = 1e-6, and the central difference {@code (f(+h) - f(-h)) / 2h} is compared
 * with the analytic gradient. Metric, per tensor (an input or the flat parameter vector):
 * {@code max_i |analytic_i - numeric_i| / max(max_i |analytic_i|, max_i |numeric_i|, 1e-12)},
 * at most 1e-6. Inputs to kinked functions (ReLU, LeakyReLU, ELU) are drawn away from 0; random
 * doubles make max-pooling ties improbable.
 */
class GradientCheckTest {
    private static final double H = 1e-6;
    private static final double TOLERANCE = 1e-6;

    /** A graph to check and how to draw its inputs. */
    record Case(String name, Graph graph, int batch, boolean awayFromZero, Loss loss) {
        @Override
        public String toString() {
            return name + ", batch " + batch;
        }
    }

    private static Case single(String name, Shape in, Layer layer, int batch) {
        return new Case(name, Graph.builder().input("x", in).then("layer", layer).build(), batch, false, null);
    }

    private static Case kinked(String name, Shape in, Layer layer, int batch) {
        return new Case(name, Graph.builder().input("x", in).then("layer", layer).build(), batch, true, null);
    }

    private static Conv2d conv(int oc, int kh, int kw) {
        return new Conv2d(oc, kh, kw, 1, 1, 0, 0, 1, 1, true, Init.heUniform(), Init.zeros());
    }

    static Stream<Case> cases() {
        Shape chw = Shape.of(3, 6, 7);
        return Stream.of(
                single("Dense(4) on (3, 4, 5)", Shape.of(3, 4, 5), new Dense(4), 3),
                single("Dense(5) without bias on (6)", Shape.of(6), new Dense(5, false, Init.heUniform(), Init.zeros()), 2),
                single("Conv2d 3->5 k3 s1p0d1", chw, conv(5, 3, 3), 2),
                single("Conv2d 3->5 k3 s2p1d1", chw, conv(5, 3, 3).stride(2).padding(1), 2),
                single("Conv2d 3->5 k3 s1p2d2", chw, conv(5, 3, 3).padding(2).dilation(2), 2),
                single("Conv2d 3->5 k3 stride 2x1 padding 1x0", chw, conv(5, 3, 3).stride(2, 1).padding(1, 0), 2),
                single("Conv2d 3->7 k1x1", chw, conv(7, 1, 1), 2),
                single("Conv2d 3->5 k3x5 padding 1x2 no bias", chw, conv(5, 3, 5).padding(1, 2).withBias(false), 1),
                single("MaxPool2d k3 s2 p1", chw, MaxPool2d.of(3, 2, 1), 2),
                single("MaxPool2d k2 s1 p0", chw, MaxPool2d.of(2, 1, 0), 1),
                single("MaxPool2d k3x2 s1x2 p1x1", chw, new MaxPool2d(3, 2, 1, 2, 1, 1), 2),
                single("AvgPool2d k3 s2 p1 include pad", chw, AvgPool2d.of(3, 2, 1, true), 2),
                single("AvgPool2d k3 s2 p1 exclude pad", chw, AvgPool2d.of(3, 2, 1, false), 2),
                single("AvgPool2d k3x2 s2x1 p1x1 exclude pad", chw, new AvgPool2d(3, 2, 2, 1, 1, 1, false), 1),
                single("GlobalAvgPool2d", chw, new GlobalAvgPool2d(), 2),
                single("Flatten", chw, new Flatten(), 2),
                kinked("ReLU", chw, new ReLU(), 2),
                kinked("LeakyReLU(0.1)", chw, new LeakyReLU(0.1f), 2),
                kinked("ELU(0.7)", chw, new ELU(0.7f), 2),
                single("GELU", chw, new GELU(), 2),
                single("Tanh", chw, new Tanh(), 2),
                single("Sigmoid", chw, new Sigmoid(), 2),
                single("Softmax on (5)", Shape.of(5), new Softmax(), 3),
                single("Softmax on (3, 4, 5)", Shape.of(3, 4, 5), new Softmax(), 2),
                single("BatchNorm 1d on (5)", Shape.of(5), new BatchNorm(), 4),
                single("BatchNorm 2d on (3, 4, 5)", Shape.of(3, 4, 5), new BatchNorm(), 1),
                single("BatchNorm 2d on (3, 4, 5)", Shape.of(3, 4, 5), new BatchNorm(1e-3f, 0.1f), 3),
                single("Dropout(0.3)", chw, new Dropout(0.3f), 2),
                new Case("Add of 3 inputs", Graph.builder().input("a", chw).input("b", chw).input("c", chw)
                        .add("sum", new Add(), "a", "b", "c").build(), 2, false, null),
                new Case("Concat of 2 inputs", Graph.builder().input("a", Shape.of(3, 4, 5)).input("b", Shape.of(2, 4, 5))
                        .add("cat", new Concat(), "a", "b").build(), 2, false, null),
                new Case("Concat of 3 inputs", Graph.builder().input("a", Shape.of(3)).input("b", Shape.of(1))
                        .input("c", Shape.of(4)).add("cat", new Concat(), "a", "b", "c").build(), 2, false, null),
                lossCase("softmax cross-entropy", new SoftmaxCrossEntropy()),
                lossCase("softmax cross-entropy, label smoothing 0.1", new SoftmaxCrossEntropy(0.1f)),
                lossCase("mean squared error", new MeanSquaredError()),
                new Case("conv-bn-relu-pool-dense network with residual add and concat", network(), 2, false,
                        new SoftmaxCrossEntropy()));
    }

    private static Case lossCase(String name, Loss loss) {
        return new Case(name, Graph.builder().input("x", Shape.of(6)).then("fc", new Dense(5)).build(), 3, false, loss);
    }

    /**
     * {@code x (3, 6, 7) -> conv1 (5, 6, 7) -> bn1 -> relu1 -> conv2 (5, 6, 7) -> add(relu1, conv2)
     * -> pool (5, 3, 3) -> concat(pool, side pool of x (3, 3, 3)) (8, 3, 3) -> fc (4)}.
     */
    static Graph network() {
        return Graph.builder()
                .input("x", Shape.of(3, 6, 7))
                .then("conv1", Conv2d.of(5, 3).padding(1))
                .then("bn1", new BatchNorm())
                .then("relu1", new ReLU())
                .then("conv2", Conv2d.of(5, 3).padding(1))
                .add("res", new Add(), "relu1", "conv2")
                .then("pool", MaxPool2d.of(2))
                .add("side", AvgPool2d.of(2), "x")
                .add("cat", new Concat(), "pool", "side")
                .then("fc", new Dense(4))
                .build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void analyticGradientsMatchCentralDifferences(Case c) {
        ReferenceBackend backend = new ReferenceBackend();
        SplittableRandom rng = new SplittableRandom(c.name().hashCode());
        Graph g = c.graph();
        try (Parameters p = backend.createParameters(g, DataType.FLOAT64);
             Plan plan = backend.plan(g, c.batch(), new PlanOptions(DataType.FLOAT64, true, true));
             Executor ex = plan.bind(p)) {
            HostTensor values = (HostTensor) p.values();
            fill(values, () -> uniform(rng));
            DoubleSupplier draw = c.awayFromZero() ? () -> awayFromZero(rng) : () -> uniform(rng);
            for (Node in : g.inputs()) {
                fill((HostTensor) ex.input(in.name()), draw);
            }
            Pass pass = Pass.training(42, 3);
            int outSize = g.output().outputShape().withBatch(c.batch()).sizeAsInt();
            double[] r = new double[outSize];
            for (int i = 0; i < r.length; i++) {
                r[i] = uniform(rng);
            }
            Targets targets = targets(c, rng);

            // Analytic: d f / d everything in one backward.
            ex.forward(pass);
            if (c.loss() != null) {
                ex.loss(c.loss(), targets, 1.0);
            } else {
                ex.outputGradient().writeDoubles(r);
            }
            ex.backward(GradientMode.OVERWRITE);

            DoubleSupplier f = () -> {
                ex.forward(pass);
                if (c.loss() != null) {
                    return ex.loss(c.loss(), targets, 1.0).sum();
                }
                double[] out = ex.output().toDoubles();
                double s = 0;
                for (int i = 0; i < out.length; i++) {
                    s += out[i] * r[i];
                }
                return s;
            };
            List<String> failures = new ArrayList<>();
            for (Node in : g.inputs()) {
                double[] analytic = ex.inputGradient(in.name()).toDoubles();
                compare("input " + in.name(), analytic, numeric((HostTensor) ex.input(in.name()), f), failures);
            }
            if (p.layout().trainableSize() > 0) {
                compare("parameters", p.gradients().toDoubles(), numeric(values, f), failures);
            }
            assertTrue(failures.isEmpty(), c + ": " + failures);
        }
    }

    private static Targets targets(Case c, SplittableRandom rng) {
        if (c.loss() instanceof MeanSquaredError) {
            Shape s = c.graph().output().outputShape();
            float[] t = new float[c.batch() * s.sizeAsInt()];
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) uniform(rng);
            }
            return Targets.values(s, t);
        }
        int k = c.graph().output().outputShape().sizeAsInt();
        int[] labels = new int[c.batch()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = rng.nextInt(k);
        }
        return Targets.labels(labels);
    }

    /** Central differences of f with respect to every element of t. */
    private static double[] numeric(HostTensor t, DoubleSupplier f) {
        double[] n = new double[Math.toIntExact(t.size())];
        for (int i = 0; i < n.length; i++) {
            double x = t.get(i);
            t.set(i, x + H);
            double plus = f.getAsDouble();
            t.set(i, x - H);
            double minus = f.getAsDouble();
            t.set(i, x);
            n[i] = (plus - minus) / (2 * H);
        }
        return n;
    }

    private static void compare(String what, double[] analytic, double[] numeric, List<String> failures) {
        double diff = 0;
        double scale = 1e-12;
        int worst = 0;
        for (int i = 0; i < analytic.length; i++) {
            double d = Math.abs(analytic[i] - numeric[i]);
            if (d > diff) {
                diff = d;
                worst = i;
            }
            scale = Math.max(scale, Math.max(Math.abs(analytic[i]), Math.abs(numeric[i])));
        }
        double err = diff / scale;
        if (!(err <= TOLERANCE)) {
            failures.add(String.format("%s: relative error %.3g at element %d (analytic %.12g, numeric %.12g)",
                    what, err, worst, analytic[worst], numeric[worst]));
        }
    }

    private static void fill(HostTensor t, DoubleSupplier draw) {
        for (long i = 0; i < t.size(); i++) {
            t.set(i, draw.getAsDouble());
        }
    }

    private static double uniform(SplittableRandom rng) {
        return 2 * rng.nextDouble() - 1;
    }

    /** +-[0.2, 1): away from the kink at 0 by far more than h. */
    private static double awayFromZero(SplittableRandom rng) {
        double m = 0.2 + 0.8 * rng.nextDouble();
        return rng.nextBoolean() ? m : -m;
    }
}
