package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Every optimizer against a 5-step trajectory on f(w) = w^2 / 2 from w = 1, so g = w at each step.
 * The expected numbers come from the torch.optim recurrences written in each record's Javadoc,
 * evaluated step by step in float64 by a separate script (a transcription of those formulas, not
 * of the Java code); the Java update stores float32, so they agree to float32 precision (2e-7
 * relative per step; 1e-6 is asserted). Two worked by hand:
 * <pre>
 * SGD lr 0.1, momentum 0.9:  b1 = 1,            w1 = 1 - 0.1 * 1 = 0.9
 *                            b2 = 0.9 + 0.9,     w2 = 0.9 - 0.18 = 0.72
 *                            b3 = 1.62 + 0.72,   w3 = 0.72 - 0.234 = 0.486 ...
 * Nesterov lr 0.1, mu 0.9:   b1 = 1, g' = 1 + 0.9 * 1 = 1.9,           w1 = 1 - 0.19 = 0.81
 *                            b2 = 0.9 + 0.81 = 1.71, g' = 0.81 + 1.539, w2 = 0.81 - 0.2349 = 0.5751 ...
 * Adam lr 0.1, step 1:       m = 0.1, v = 0.001, mhat = vhat = 1, w1 = 1 - 0.1 / (1 + 1e-8) = 0.900000001
 * AdamW wd 0.5, step 1:      w = 1 * (1 - 0.1 * 0.5) = 0.95, then Adam's step of 0.1: 0.850000001
 * </pre>
 */
class OptimizerTest {

    static Stream<Arguments> trajectories() {
        return Stream.of(
                Arguments.of(Optimizer.Sgd.plain(0.1), new double[] {0.9, 0.81, 0.729, 0.6561, 0.59049}),
                Arguments.of(Optimizer.Sgd.momentum(0.1, 0.9), new double[] {0.9, 0.72, 0.486, 0.2268, -0.02916}),
                Arguments.of(Optimizer.Sgd.nesterov(0.1, 0.9), new double[] {0.81, 0.5751, 0.327321, 0.09388791, -0.1045816839}),
                Arguments.of(new Optimizer.Sgd(0.1, 0.9, 0.5, false, 0.1),
                        new double[] {0.89, 0.74205, 0.56808225, 0.38026675125, 0.19031813105625}),
                Arguments.of(Optimizer.Adam.of(0.1), new double[] {0.900000001, 0.800412229712338, 0.701586274504415,
                        0.603939062682108, 0.507963661927221}),
                Arguments.of(new Optimizer.Adam(0.1, 0.9, 0.999, 1e-8, 0.5), new double[] {0.900000000666667,
                        0.800412229031975, 0.701586273465492, 0.603939061276533, 0.507963660151968}),
                Arguments.of(new Optimizer.AdamW(0.1, 0.9, 0.999, 1e-8, 0.5), new double[] {0.850000001, 0.708248444365652,
                        0.574973932253246, 0.450514520363109, 0.335314890945508}),
                Arguments.of(new Optimizer.Adagrad(0.5, 0.1, 0, 0.1, 1e-10), new double[] {0.523268705422658,
                        0.320342225089409, 0.21049309512795, 0.144842675900926, 0.103181040375506}),
                Arguments.of(Optimizer.RmsProp.of(0.01), new double[] {0.900000009999999, 0.832917975265059,
                        0.779982281982354, 0.735389054203393, 0.696465799281033}),
                Arguments.of(new Optimizer.RmsProp(0.01, 0.9, 1e-8, 0, 0.9, true), new double[] {0.966666667777778,
                        0.911590145288725, 0.840596472835703, 0.757585795505157, 0.665562796692513}),
                Arguments.of(Optimizer.Adadelta.of(1.0), new double[] {0.996837738151101, 0.993598198407652,
                        0.990309082800838, 0.986984092612774, 0.983631387348616}));
    }

    /** The tensors an update runs over: float32 in direct memory (a CPU backend's), or float64 on the heap. */
    enum Storage {
        FLOAT32, FLOAT64;

        io.batchwise.backend.Tensor of(float... v) {
            if (this == FLOAT32) {
                return new DirectFloatTensor(v);
            }
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i];
            }
            return new ArrayTensor(d);
        }
    }

    static Stream<Arguments> trajectoriesByStorage() {
        return trajectories().flatMap(a -> Stream.of(Storage.values())
                .map(st -> Arguments.of(a.get()[0], a.get()[1], st)));
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("trajectoriesByStorage")
    void followsTheTorchTrajectory(Optimizer opt, double[] expected, Storage storage) {
        io.batchwise.backend.Tensor w = storage.of(1f);
        io.batchwise.backend.Tensor g = storage.of(0f);
        io.batchwise.backend.Tensor[] s = new io.batchwise.backend.Tensor[opt.stateSlots()];
        for (int k = 0; k < s.length; k++) {
            s[k] = storage.of(0f);
        }
        Updater u = new Updater(opt, 1);
        float[] one = new float[1];
        for (int t = 1; t <= expected.length; t++) {
            w.read(0, one, 0, 1);
            g.write(0, one, 0, 1);
            u.loadGradients(g);
            u.step(w, s, t, opt.lr());
            w.read(0, one, 0, 1);
            assertEquals(expected[t - 1], one[0], 1e-6 * Math.max(1, Math.abs(expected[t - 1])), opt + " step " + t);
        }
    }

    /** f(w) = sum_i c_i (w_i - 1)^2 / 2, ill-conditioned: every optimizer reaches the minimum. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("convergent")
    void convergesOnAConvexProblem(Optimizer opt, int steps) {
        double[] c = {0.5, 1, 2, 4};
        DirectFloatTensor w = new DirectFloatTensor(-2, 3, 0.5f, -1);
        DirectFloatTensor g = new DirectFloatTensor(new float[4]);
        io.batchwise.backend.Tensor[] s = new io.batchwise.backend.Tensor[opt.stateSlots()];
        for (int k = 0; k < s.length; k++) {
            s[k] = new DirectFloatTensor(new float[4]);
        }
        Updater u = new Updater(opt, 4);
        for (int t = 1; t <= steps; t++) {
            for (int i = 0; i < 4; i++) {
                g.set(i, c[i] * (w.get(i) - 1));
            }
            u.loadGradients(g);
            u.step(w, s, t, opt.lr());
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(1.0, w.get(i), 1e-3, opt + " coordinate " + i);
        }
    }

    /** A vector longer than one staging chunk, float32 and float64 storage: the same update element for element. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("convergent")
    void sameUpdateBeyondOneChunk(Optimizer opt, int ignored) {
        int n = HostChunk.CHUNK * 2 + 17;
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        float[] w0 = new float[n];
        float[] g0 = new float[n];
        for (int i = 0; i < n; i++) {
            w0[i] = (float) r.nextGaussian();
            g0[i] = (float) r.nextGaussian();
        }
        float[][] out = new float[2][n];
        Storage[] storages = Storage.values();
        for (int k = 0; k < 2; k++) {
            io.batchwise.backend.Tensor w = storages[k].of(w0.clone());
            io.batchwise.backend.Tensor g = storages[k].of(g0.clone());
            io.batchwise.backend.Tensor[] s = new io.batchwise.backend.Tensor[opt.stateSlots()];
            for (int j = 0; j < s.length; j++) {
                s[j] = storages[k].of(new float[n]);
            }
            Updater u = new Updater(opt, n);
            for (int t = 1; t <= 3; t++) {
                u.loadGradients(g);
                u.step(w, s, t, opt.lr());
            }
            w.read(0, out[k], 0, n);
        }
        for (int i = 0; i < n; i++) {
            assertEquals(out[0][i], out[1][i], 1e-6 * Math.max(1, Math.abs(out[0][i])), "element " + i);
        }
    }

    static Stream<Arguments> convergent() {
        return Stream.of(
                Arguments.of(Optimizer.Sgd.plain(0.3), 200),
                Arguments.of(Optimizer.Sgd.momentum(0.1, 0.9), 500),
                Arguments.of(Optimizer.Sgd.nesterov(0.1, 0.9), 500),
                Arguments.of(Optimizer.Adam.of(0.05), 3000),
                Arguments.of(new Optimizer.AdamW(0.05, 0.9, 0.999, 1e-8, 0), 3000),
                Arguments.of(Optimizer.Adagrad.of(1.0), 3000),
                Arguments.of(new Optimizer.RmsProp(0.01, 0.99, 1e-8, 0, 0.5, true), 5000),
                Arguments.of(Optimizer.Adadelta.of(1.0), 20000));
    }

    @Test
    void clippingScalesToTheMaxNorm() {
        ArrayTensor grads = new ArrayTensor(3, 4);
        Updater u = new Updater(Optimizer.Sgd.plain(0.1), 2);
        double norm = Math.sqrt(u.loadGradients(grads));
        assertEquals(5, norm, 0);
        u.scaleGradients(grads, 1 / (norm + 1e-6));
        assertEquals(0.6, grads.a[0], 1e-6);
        assertEquals(1, Math.sqrt(u.loadGradients(grads)), 1e-6);
        ArrayTensor w = new ArrayTensor(1, 1);
        u.step(w, new ArrayTensor[0], 1, 0.1);
        assertEquals(1 - 0.1 * 0.6, w.a[0], 1e-6); // the step used the clipped gradient
    }

    @Test
    void badHyperParameters() {
        assertThrows(IllegalArgumentException.class, () -> Optimizer.Sgd.plain(-1));
        assertThrows(IllegalArgumentException.class, () -> new Optimizer.Sgd(0.1, 0, 0, true, 0));
        assertThrows(IllegalArgumentException.class, () -> new Optimizer.Adam(0.1, 1.0, 0.999, 1e-8, 0));
        assertTrue(new Optimizer.RmsProp(0.1, 0.9, 1e-8, 0, 0.9, true).stateSlots() == 3);
    }

    @Test
    void schedules() {
        assertEquals(1, Schedule.constant().factor(1000));
        assertEquals(0.25, Schedule.step(10, 0.5).factor(25), 1e-15);
        assertEquals(Math.pow(0.9, 3), Schedule.exponential(0.9).factor(3), 1e-15);
        assertEquals(1, Schedule.cosine(100, 0).factor(0), 1e-15);
        assertEquals(0.5, Schedule.cosine(100, 0).factor(50), 1e-12);
        assertEquals(0.1, Schedule.cosine(100, 0.1).factor(500), 1e-12);
        Schedule w = Schedule.warmup(4, Schedule.step(2, 0.1));
        assertEquals(0.25, w.factor(0), 1e-15);
        assertEquals(1, w.factor(3), 1e-15);
        assertEquals(1, w.factor(5), 1e-15);
        assertEquals(0.1, w.factor(6), 1e-15);
        assertEquals(0.8, Schedule.linearScaling(0.1, 32, 256), 1e-15);
    }
}
