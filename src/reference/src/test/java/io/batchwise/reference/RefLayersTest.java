package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Pass;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.DropoutMask;
import io.batchwise.layer.ELU;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GELU;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Layer;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Softmax;
import io.batchwise.layer.Tanh;
import org.junit.jupiter.api.Test;

/**
 * Each layer's semantics on examples small enough to check by hand. Gradients are checked
 * exhaustively by {@link GradientCheckTest}; these pin down the forward definitions (padding,
 * stride, dilation, tie-breaking, divisors, statistics) that a gradient check cannot.
 */
class RefLayersTest {
    private static final double EXACT = 1e-15;

    private static Graph single(Shape in, Layer layer) {
        return Graph.builder().input("x", in).then("layer", layer).build();
    }

    private static double[] seq(int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = i + 1;
        }
        return a;
    }

    // ---- Dense -------------------------------------------------------------------------------

    @Test
    void denseIsSrcTimesWeightTransposedPlusBias() {
        // src (1, 3) = [1, 2, 3], weight (2, 3), bias (2)
        try (RefRun r = new RefRun(single(Shape.of(3), new Dense(2)), 1)) {
            r.param("layer", "weight", 1, 0, -1, 2, 1, 0).param("layer", "bias", 0.5, -1).input("x", 1, 2, 3);
            assertArrayEquals(new double[] {-1.5, 3}, r.forward(), EXACT);
            assertArrayEquals(new double[] {5, 2, -1}, r.backward(1, 2), EXACT);   // diff_dst . weight
            assertArrayEquals(new double[] {1, 2, 3, 2, 4, 6}, r.gradient("layer", "weight"), EXACT);
            assertArrayEquals(new double[] {1, 2}, r.gradient("layer", "bias"), EXACT);
        }
    }

    // ---- Conv2d: src (1, 1, 3, 3) = 1..9 unless said otherwise -------------------------------

    private static double[] conv(Conv2d layer, Shape in, double[] weight, double... src) {
        try (RefRun r = new RefRun(single(in, layer), 1)) {
            r.param("layer", "weight", weight).input("x", src);
            return r.forward();
        }
    }

    @Test
    void convolutionIsCrossCorrelation() {
        // weight [[1, 2], [3, 4]] on src [[1, 0], [0, 0]]: correlation gives 1 (a flipped kernel would give 4)
        double[] out = conv(Conv2d.of(1, 2).withBias(false), Shape.of(1, 2, 2), new double[] {1, 2, 3, 4}, 1, 0, 0, 0);
        assertArrayEquals(new double[] {1}, out, EXACT);
    }

    @Test
    void convolutionStrideOnePaddingZero() {
        double[] ones = {1, 1, 1, 1};
        try (RefRun r = new RefRun(single(Shape.of(1, 3, 3), Conv2d.of(1, 2)), 1)) {
            r.param("layer", "weight", ones).param("layer", "bias", 0.5).input("x", seq(9));
            assertArrayEquals(new double[] {12.5, 16.5, 24.5, 28.5}, r.forward(), EXACT);
            // diff_src counts the windows covering each pixel; diff_weight sums each window offset
            assertArrayEquals(new double[] {1, 2, 1, 2, 4, 2, 1, 2, 1}, r.backward(1, 1, 1, 1), EXACT);
            assertArrayEquals(new double[] {12, 16, 24, 28}, r.gradient("layer", "weight"), EXACT);
            assertArrayEquals(new double[] {4}, r.gradient("layer", "bias"), EXACT);
        }
    }

    @Test
    void convolutionPaddingReadsZerosAndStrideSkips() {
        // (3 + 2*1 - 2) / 2 + 1 = 2: windows start at rows/columns -1 and 1
        double[] out = conv(Conv2d.of(1, 2).stride(2).padding(1).withBias(false), Shape.of(1, 3, 3),
                new double[] {1, 1, 1, 1}, seq(9));
        assertArrayEquals(new double[] {1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9}, out, EXACT);
    }

    @Test
    void convolutionDilationSpreadsTheKernel() {
        // a 2x2 kernel with dilation 2 reads the four corners of the 3x3 image
        double[] out = conv(Conv2d.of(1, 2).dilation(2).withBias(false), Shape.of(1, 3, 3),
                new double[] {1, 1, 1, 1}, seq(9));
        assertArrayEquals(new double[] {1 + 3 + 7 + 9}, out, EXACT);
    }

    @Test
    void convolutionWithAsymmetricStrideAndPadding() {
        // src (1, 1, 3, 4) = 1..12, 1x1 kernel of 1, stride 2x1, padding 1x0: rows -1, 1, 3 -> (3, 4)
        double[] out = conv(Conv2d.of(1, 1).stride(2, 1).padding(1, 0).withBias(false), Shape.of(1, 3, 4),
                new double[] {1}, seq(12));
        assertArrayEquals(new double[] {0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0}, out, EXACT);
    }

    @Test
    void convolutionSumsOverInputChannels() {
        // src (1, 2, 1, 1) = [2, 3], weight (2, 2, 1, 1) = [[1, 10], [100, 1000]]
        double[] out = conv(Conv2d.of(2, 1).withBias(false), Shape.of(2, 1, 1), new double[] {1, 10, 100, 1000}, 2, 3);
        assertArrayEquals(new double[] {32, 3200}, out, EXACT);
    }

    // ---- Pooling ------------------------------------------------------------------------------

    @Test
    void maxPoolPaddingNeverWins() {
        // all-negative src (1, 1, 2, 2), window 2, stride 1, padding 1 -> (3, 3); a padded 0 would win if counted
        try (RefRun r = new RefRun(single(Shape.of(1, 2, 2), MaxPool2d.of(2, 1, 1)), 1)) {
            r.input("x", -1, -2, -3, -4);
            assertArrayEquals(new double[] {-1, -1, -2, -1, -1, -2, -3, -3, -4}, r.forward(), EXACT);
        }
    }

    @Test
    void maxPoolTieGoesToTheFirstInRowMajorOrder() {
        try (RefRun r = new RefRun(single(Shape.of(1, 2, 2), MaxPool2d.of(2)), 1)) {
            r.input("x", 5, 5, 5, 5);
            assertArrayEquals(new double[] {5}, r.forward(), EXACT);
            assertArrayEquals(new double[] {1, 0, 0, 0}, r.backward(1), EXACT);
        }
    }

    @Test
    void maxPoolOverlappingWindowsSumTheirGradients() {
        // the centre of a 3x3 image wins all four 2x2 windows (stride 1)
        try (RefRun r = new RefRun(single(Shape.of(1, 3, 3), MaxPool2d.of(2, 1, 0)), 1)) {
            r.input("x", 0, 0, 0, 0, 9, 0, 0, 0, 0);
            assertArrayEquals(new double[] {9, 9, 9, 9}, r.forward(), EXACT);
            assertArrayEquals(new double[] {0, 0, 0, 0, 1 + 2 + 3 + 4, 0, 0, 0, 0}, r.backward(1, 2, 3, 4), EXACT);
        }
    }

    @Test
    void avgPoolDivisorWithAndWithoutPadding() {
        // src (1, 1, 2, 2) = [[1, 2], [3, 4]], window 2, stride 1, padding 1 -> (3, 3)
        double[] sums = {1, 1 + 2, 2, 1 + 3, 10, 2 + 4, 3, 3 + 4, 4};
        double[] counts = {1, 2, 1, 2, 4, 2, 1, 2, 1};
        double[] include = new double[9];
        double[] exclude = new double[9];
        for (int i = 0; i < 9; i++) {
            include[i] = sums[i] / 4;
            exclude[i] = sums[i] / counts[i];
        }
        try (RefRun r = new RefRun(single(Shape.of(1, 2, 2), AvgPool2d.of(2, 1, 1, true)), 1)) {
            r.input("x", 1, 2, 3, 4);
            assertArrayEquals(include, r.forward(), EXACT);
            // each pixel is in 4 windows, each passing 1/4
            assertArrayEquals(new double[] {1, 1, 1, 1}, r.backward(1, 1, 1, 1, 1, 1, 1, 1, 1), EXACT);
        }
        try (RefRun r = new RefRun(single(Shape.of(1, 2, 2), AvgPool2d.of(2, 1, 1, false)), 1)) {
            r.input("x", 1, 2, 3, 4);
            assertArrayEquals(exclude, r.forward(), EXACT);
        }
    }

    @Test
    void globalAvgPoolAveragesEachChannel() {
        try (RefRun r = new RefRun(single(Shape.of(2, 1, 2), new GlobalAvgPool2d()), 1)) {
            r.input("x", 1, 3, 10, 20);
            assertArrayEquals(new double[] {2, 15}, r.forward(), EXACT);
            assertArrayEquals(new double[] {0.5, 0.5, 1, 1}, r.backward(1, 2), EXACT);
        }
    }

    // ---- Reshaping and combining ---------------------------------------------------------------

    @Test
    void flattenKeepsTheOrder() {
        try (RefRun r = new RefRun(single(Shape.of(2, 1, 2), new Flatten()), 2)) {
            r.input("x", seq(8));
            assertArrayEquals(seq(8), r.forward(), EXACT);
            assertArrayEquals(seq(8), r.backward(seq(8)), EXACT);
        }
    }

    @Test
    void addSumsItsInputsAndCopiesTheGradientToEach() {
        Graph g = Graph.builder().input("x", Shape.of(2)).input("y", Shape.of(2)).input("z", Shape.of(2))
                .add("sum", new Add(), "x", "y", "z").build();
        try (RefRun r = new RefRun(g, 1)) {
            r.input("x", 1, 2).input("y", 10, 20).input("z", 100, 200);
            assertArrayEquals(new double[] {111, 222}, r.forward(), EXACT);
            assertArrayEquals(new double[] {3, 4}, r.backward(3, 4), EXACT);
            assertArrayEquals(new double[] {3, 4}, r.ex.inputGradient("z").toDoubles(), EXACT);
        }
    }

    @Test
    void concatStacksChannelsPerSample() {
        // x (2, 1, 2) and y (1, 1, 2), batch 2: per sample, x's 4 values then y's 2
        Graph g = Graph.builder().input("x", Shape.of(2, 1, 2)).input("y", Shape.of(1, 1, 2))
                .add("cat", new Concat(), "x", "y").build();
        try (RefRun r = new RefRun(g, 2)) {
            r.input("x", 1, 2, 3, 4, 5, 6, 7, 8).input("y", 10, 20, 30, 40);
            assertArrayEquals(new double[] {1, 2, 3, 4, 10, 20, 5, 6, 7, 8, 30, 40}, r.forward(), EXACT);
            double[] dy = seq(12);
            assertArrayEquals(new double[] {1, 2, 3, 4, 7, 8, 9, 10}, r.backward(dy), EXACT);
            assertArrayEquals(new double[] {5, 6, 11, 12}, r.ex.inputGradient("y").toDoubles(), EXACT);
        }
    }

    // ---- Activations ---------------------------------------------------------------------------

    private static void activation(Layer layer, double[] x, double[] y, double[] dydx) {
        try (RefRun r = new RefRun(single(Shape.of(x.length), layer), 1)) {
            r.input("x", x);
            assertArrayEquals(y, r.forward(), 1e-15, layer::toString);
            double[] ones = new double[x.length];
            java.util.Arrays.fill(ones, 1);
            assertArrayEquals(dydx, r.backward(ones), 1e-15, layer::toString);
        }
    }

    @Test
    void reluHasGradientZeroAtZero() {
        activation(new ReLU(), new double[] {-1, 0, 2}, new double[] {0, 0, 2}, new double[] {0, 0, 1});
    }

    @Test
    void leakyReluUsesTheSlopeAtAndBelowZero() {
        activation(new LeakyReLU(0.25f), new double[] {-1, 0, 2}, new double[] {-0.25, 0, 2}, new double[] {0.25, 0.25, 1});
    }

    @Test
    void eluUsesAlphaTimesExpAtAndBelowZero() {
        activation(new ELU(0.5f), new double[] {-1, 0, 2}, new double[] {0.5 * Math.expm1(-1), 0, 2},
                new double[] {0.5 * Math.exp(-1), 0.5, 1});
    }

    @Test
    void geluIsTheExactErfForm() {
        // x Phi(x) and Phi(x) + x phi(x), values from CPython's math.erfc
        activation(new GELU(), new double[] {-1, 0, 1}, new double[] {-0.15865525393145707, 0, 0.8413447460685429},
                new double[] {0.15865525393145707 - 0.24197072451914337, 0.5, 0.8413447460685429 + 0.24197072451914337});
    }

    @Test
    void tanhAndSigmoid() {
        double t = Math.tanh(0.5);
        activation(new Tanh(), new double[] {0, 0.5}, new double[] {0, t}, new double[] {1, 1 - t * t});
        double s = 1 / (1 + Math.exp(-2));
        activation(new Sigmoid(), new double[] {0, 2, -800, 800}, new double[] {0.5, s, 0, 1},
                new double[] {0.25, s * (1 - s), 0, 0});
    }

    @Test
    void softmaxRunsOverChannelsAtEachPosition() {
        // src (1, 2, 1, 2): channel 0 = [0, 0], channel 1 = [ln 2, ln 3]
        try (RefRun r = new RefRun(single(Shape.of(2, 1, 2), new Softmax()), 1)) {
            r.input("x", 0, 0, Math.log(2), Math.log(3));
            assertArrayEquals(new double[] {1 / 3.0, 1 / 4.0, 2 / 3.0, 3 / 4.0}, r.forward(), 1e-15);
            // a gradient constant over the channels changes nothing
            assertArrayEquals(new double[] {0, 0, 0, 0}, r.backward(5, 7, 5, 7), 1e-15);
        }
    }

    @Test
    void softmaxIsStableForLargeLogits() {
        try (RefRun r = new RefRun(single(Shape.of(2), new Softmax()), 1)) {
            r.input("x", 1000, 1000 + Math.log(3));
            assertArrayEquals(new double[] {0.25, 0.75}, r.forward(), 1e-12);
        }
    }

    // ---- BatchNorm -----------------------------------------------------------------------------

    @Test
    void batchNormTrainingUsesBatchStatisticsAndUpdatesRunningOnesLikePyTorch() {
        // src (2, 2) = [[1, 10], [3, 14]]: channel 0 mean 2, var 1; channel 1 mean 12, var 4 (biased)
        BatchNorm bn = new BatchNorm(1e-5f, 0.1f);
        double eps = bn.epsilon();
        double mom = bn.momentum();
        try (RefRun r = new RefRun(single(Shape.of(2), bn), 2)) {
            r.param("layer", "gamma", 2, 1).param("layer", "beta", 0.5, 0).input("x", 1, 10, 3, 14);
            double a = 2 / Math.sqrt(1 + eps);
            double b = 2 / Math.sqrt(4 + eps);
            assertArrayEquals(new double[] {-a + 0.5, -b, a + 0.5, b}, r.forward(), 1e-15);
            // running = (1 - momentum) running + momentum stat, with the unbiased variance (m / (m - 1) = 2)
            assertArrayEquals(new double[] {mom * 2, mom * 12}, r.state("layer", "runningMean"), 1e-15);
            assertArrayEquals(new double[] {(1 - mom) + mom * 2, (1 - mom) + mom * 8}, r.state("layer", "runningVar"), 1e-15);

            // inference: normalise with the running statistics
            double[] rm = r.state("layer", "runningMean");
            double[] rv = r.state("layer", "runningVar");
            double[] y = r.forward(Pass.inference());
            assertEquals(2 * (1 - rm[0]) / Math.sqrt(rv[0] + eps) + 0.5, y[0], 1e-15);
            assertEquals((14 - rm[1]) / Math.sqrt(rv[1] + eps), y[3], 1e-15);
            assertArrayEquals(rm, r.state("layer", "runningMean"), 0, "inference leaves the state alone");
        }
    }

    @Test
    void batchNorm2dPoolsStatisticsOverBatchAndSpace() {
        // src (1, 2, 1, 2): channel 0 = [1, 3], channel 1 = [5, 5] (variance 0: dst = beta)
        try (RefRun r = new RefRun(single(Shape.of(2, 1, 2), new BatchNorm()), 1)) {
            r.param("layer", "beta", 0, 7).input("x", 1, 3, 5, 5);
            double a = 1 / Math.sqrt(1 + (double) 1e-5f);
            assertArrayEquals(new double[] {-a, a, 7, 7}, r.forward(), 1e-15);
        }
    }

    @Test
    void batchNorm1dWithOneSampleRefusesToTrain() {
        // one value per channel has no variance (PyTorch raises too); inference still works
        try (RefRun r = new RefRun(Graph.builder().input("x", Shape.of(3)).then("bn1", new BatchNorm()).build(), 1)) {
            r.input("x", 1, 2, 3);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.forward(Pass.training(1, 0)));
            assertTrue(e.getMessage().contains("'bn1' (BatchNorm)"), e.getMessage());
            assertTrue(e.getMessage().contains("more than one value per channel"), e.getMessage());
            double eps = (double) 1e-5f;
            assertArrayEquals(new double[] {1 / Math.sqrt(1 + eps), 2 / Math.sqrt(1 + eps), 3 / Math.sqrt(1 + eps)},
                    r.forward(Pass.inference()), 1e-15);
        }
    }

    @Test
    void batchNormBackwardAfterAnInferencePassTreatsStatisticsAsConstants() {
        try (RefRun r = new RefRun(single(Shape.of(1), new BatchNorm()), 2)) {
            r.param("layer", "gamma", 3).param("layer", "runningVar", 4 - (double) 1e-5f).input("x", 1, 2);
            r.forward(Pass.inference());
            assertArrayEquals(new double[] {1.5, 3}, r.backward(1, 2), 1e-12);  // gamma / sqrt(var + eps) = 1.5
        }
    }

    // ---- Dropout -------------------------------------------------------------------------------

    @Test
    void dropoutFollowsTheSharedCounterBasedMask() {
        int e = 50;
        double[] ones = new double[2 * e];
        java.util.Arrays.fill(ones, 1);
        try (RefRun r = new RefRun(Graph.builder().input("x", Shape.of(e)).then("drop", new Dropout(0.5f)).build(), 2)) {
            r.input("x", ones);
            double[] y = r.forward(Pass.training(99, 10));
            long key = DropoutMask.nodeKey(99, "drop");
            int kept = 0;
            for (int n = 0; n < 2; n++) {
                for (int i = 0; i < e; i++) {
                    boolean keep = DropoutMask.keep(key, 10 + n, i, 0.5f);
                    assertEquals(keep ? 2.0 : 0.0, y[n * e + i], "sample " + n + " element " + i);
                    kept += keep ? 1 : 0;
                }
            }
            assertTrue(kept > 30 && kept < 70, "about half kept: " + kept);
            assertArrayEquals(y, r.backward(ones), 0, "backward applies the same mask and scale");
            assertArrayEquals(ones, r.forward(Pass.inference()), 0, "inference is the identity");
        }
    }

    @Test
    void dropoutMaskDoesNotDependOnHowTheBatchIsSplit() {
        Graph g = Graph.builder().input("x", Shape.of(3, 2, 2)).then("drop", new Dropout(0.3f)).build();
        double[] whole;
        try (RefRun r = new RefRun(g, 4)) {
            whole = r.input("x", seq(48)).forward(Pass.training(5, 100));
        }
        double[] parts = new double[48];
        for (int k = 0; k < 2; k++) {
            try (RefRun r = new RefRun(g, 2)) {
                double[] x = java.util.Arrays.copyOfRange(seq(48), 24 * k, 24 * k + 24);
                System.arraycopy(r.input("x", x).forward(Pass.training(5, 100 + 2 * k)), 0, parts, 24 * k, 24);
            }
        }
        assertArrayEquals(whole, parts, 0);
        assertFalse(java.util.Arrays.equals(whole, seq(48)), "something was dropped");
    }
}
