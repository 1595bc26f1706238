package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import io.batchwise.cudnn.SimulatedCudnn;
import io.batchwise.reference.ReferenceBackend;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The optimizer step on the cuDNN backend's device ({@code CudnnBackend.vectors()}: kernels over the flat device
 * buffers, run here through their Java ports on the simulated device) against the host path the other backends
 * take ({@link VectorOps#host()} and the Updater's float32 loops): every rule gives the same weights and state
 * (bit for bit for the adaptive rules, whose kernels round each operation as Java does; within float32 rounding
 * for SGD's {@code y = a x + b y} passes, which the host computes in float64), the step copies no value to the
 * host, and decaying state is flushed before it turns subnormal, as on the CPU.
 */
class CudnnUpdaterTest {
    private static final Backend HOST = new ReferenceBackend();

    static Stream<Optimizer> optimizers() {
        return Stream.of(Optimizer.Sgd.plain(0.1), Optimizer.Sgd.momentum(0.1, 0.9), new Optimizer.Sgd(0.1, 0.9, 0, true, 1e-2),
                new Optimizer.Sgd(0.1, 0.8, 0.3, false, 1e-3),
                Optimizer.Adam.of(1e-2), new Optimizer.Adam(1e-2, 0.8, 0.99, 1e-6, 0.1), Optimizer.AdamW.of(1e-2),
                Optimizer.Adagrad.of(0.1), new Optimizer.Adagrad(0.1, 0.01, 1e-3, 0.1, 1e-10),
                Optimizer.RmsProp.of(1e-2), new Optimizer.RmsProp(1e-2, 0.9, 1e-8, 1e-3, 0.9, true),
                new Optimizer.RmsProp(1e-2, 0.99, 1e-8, 0, 0, true), Optimizer.Adadelta.of(1.0),
                new Optimizer.Adadelta(0.5, 0.95, 1e-6, 1e-2));
    }

    /** The kernel an optimizer's step launches (SGD: its axpby passes). */
    private static String kernel(Optimizer o) {
        if (o instanceof Optimizer.Sgd) {
            return "vec_axpby";
        }
        return switch (o.name()) {
            case "adam", "adamw" -> "adam_step";
            case "adagrad" -> "adagrad_step";
            case "rmsprop" -> "rmsprop_step";
            case "adadelta" -> "adadelta_step";
            default -> throw new IllegalArgumentException(o.name());
        };
    }

    /** w, g and the optimizer's state on one backend. */
    private record Side(Tensor w, Tensor g, Tensor[] s, Updater u) implements AutoCloseable {
        static Side on(Backend b, Optimizer o, float[] w0) {
            Tensor[] s = new Tensor[o.stateSlots()];
            for (int i = 0; i < s.length; i++) {
                s[i] = b.allocate(Shape.of(w0.length), DataType.FLOAT32);
            }
            Tensor w = b.allocate(Shape.of(w0.length), DataType.FLOAT32);
            w.write(w0);
            return new Side(w, b.allocate(Shape.of(w0.length), DataType.FLOAT32), s, new Updater(o, w0.length, b.vectors()));
        }

        /** Loads {@code grad} and steps; returns the squared gradient norm. */
        double step(float[] grad, long t, double lr) {
            g.write(grad);
            double sq = u.loadGradients(g);
            u.step(w, s, t, lr);
            return sq;
        }

        @Override
        public void close() {
            w.close();
            g.close();
            for (Tensor t : s) {
                t.close();
            }
        }
    }

    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (scale * (2 * r.nextDouble() - 1));
        }
        return a;
    }

    /** Each element within {@code tolerance} of the host's, relative to {@code max(1, |host|)} (as TrainingSuite compares). */
    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]) / Math.max(1, Math.abs(expected[i]));
            assertTrue(err <= tolerance, what + ": element " + i + " is " + actual[i] + " on the device, " + expected[i]
                    + " on the host");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizers")
    void twentyFiveStepsOnTheDeviceEqualTheHostsAndCopyNothingBack(Optimizer o) {
        SimulatedCudnn sim = new SimulatedCudnn();
        int n = 1000;
        SplittableRandom r = new SplittableRandom(o.toString().hashCode());
        float[] w0 = random(r, n, 1);
        try (Side host = Side.on(HOST, o, w0); Side dev = Side.on(sim.backend(), o, w0)) {
            long before = sim.downloadedFloats();
            for (long t = 1; t <= 25; t++) {
                float[] g = random(r, n, 0.1);
                Arrays.fill(g, 0, 16, 0f); // dead units: their state only decays
                double lr = o.lr() * (1 - 0.02 * t); // a schedule: the rate changes every step
                double hs = host.step(g, t, lr);
                double ds = dev.step(g, t, lr);
                assertEquals(hs, ds, 1e-12 * hs, "squared gradient norm at step " + t);
            }
            assertEquals(before, sim.downloadedFloats(), "the steps copied no float to the host");
            assertTrue(sim.launches(kernel(o)) >= 25, kernel(o) + " ran on the device: " + sim.launches(kernel(o)));
            assertEquals(25, sim.launches("vec_sum_squares"));
            boolean exact = !(o instanceof Optimizer.Sgd);
            float[] hw = host.w().toArray();
            float[] dw = dev.w().toArray();
            if (exact) {
                assertArrayEquals(hw, dw, o + ": weights bit for bit");
            } else {
                assertClose(hw, dw, 1e-6, o + " weights");
            }
            assertFalse(Arrays.equals(w0, dw), "the steps moved the weights");
            for (int i = 0; i < host.s().length; i++) {
                if (exact) {
                    assertArrayEquals(host.s()[i].toArray(), dev.s()[i].toArray(), o + ": state " + i + " bit for bit");
                } else {
                    assertClose(host.s()[i].toArray(), dev.s()[i].toArray(), 1e-6, o + " state " + i);
                }
            }
        }
        assertEquals(0, sim.liveBytes(), "everything freed; the sums of squares allocated nothing");
    }

    static Stream<Optimizer> decaying() {
        return Stream.of(Optimizer.Sgd.momentum(0.01, 0.9), Optimizer.Adam.of(0.01), Optimizer.AdamW.of(0.01),
                Optimizer.RmsProp.of(0.01), new Optimizer.RmsProp(0.01, 0.99, 1e-8, 0, 0.9, true), Optimizer.Adadelta.of(1.0));
    }

    /** As UpdaterFlushTest on the host: gradients of 1e-3 for 300 steps, then zero for 3,000; the device's state too. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("decaying")
    void deviceStateDecayingTowardZeroIsNeverSubnormalAndMatchesTheHost(Optimizer o) {
        SimulatedCudnn sim = new SimulatedCudnn();
        float[] w0 = {0.5f, -0.25f, 0.125f, 1f};
        try (Side host = Side.on(HOST, o, w0); Side dev = Side.on(sim.backend(), o, w0)) {
            float[] g = new float[4];
            Arrays.fill(g, 1e-3f);
            for (long t = 1; t <= 3300; t++) {
                if (t == 301) {
                    Arrays.fill(g, 0f);
                }
                host.g().write(g);
                host.u().useGradients(host.g());
                host.u().step(host.w(), host.s(), t, o.lr());
                dev.g().write(g);
                dev.u().useGradients(dev.g());
                dev.u().step(dev.w(), dev.s(), t, o.lr());
            }
            for (int i = 0; i < dev.s().length; i++) {
                float[] s = dev.s()[i].toArray();
                for (float x : s) {
                    assertTrue(x == 0 || Math.abs(x) >= Float.MIN_NORMAL, o + ": subnormal state " + x);
                }
                if (o instanceof Optimizer.Sgd) {
                    assertClose(host.s()[i].toArray(), s, 1e-6, o + " state");
                } else {
                    assertArrayEquals(host.s()[i].toArray(), s, o + ": state bit for bit");
                }
            }
        }
    }

    @Test
    void theSumOfSquaresRunsInFloat64OverAFixedGridAndOtherTensorsStayOnTheHost() {
        SimulatedCudnn sim = new SimulatedCudnn();
        VectorOps ops = sim.backend().vectors();
        SplittableRandom r = new SplittableRandom(3);
        int n = 300_001; // more than 1024 blocks x 256 threads: the grid-stride loop wraps
        float[] x = random(r, n, 2);
        double expected = 0;
        for (float v : x) {
            expected += (double) v * v;
        }
        try (Tensor d = sim.backend().allocate(Shape.of(n), DataType.FLOAT32);
             Tensor h = HOST.allocate(Shape.of(n), DataType.FLOAT32)) {
            d.write(x);
            h.write(x);
            long downloaded = sim.downloadedFloats();
            double a = ops.sumOfSquares(d);
            assertEquals(expected, a, 1e-12 * expected);
            assertEquals(Double.doubleToRawLongBits(a), Double.doubleToRawLongBits(ops.sumOfSquares(d)), "the same bits again");
            assertEquals(downloaded, sim.downloadedFloats(), "only the total came back");
            assertEquals(2, sim.launches("vec_sum_squares"));
            // A host tensor: the portable path, no launch.
            assertEquals(expected, ops.sumOfSquares(h), 1e-12 * expected);
            assertEquals(2, sim.launches("vec_sum_squares"));
            assertFalse(ops.update(new io.batchwise.backend.UpdateRule.Adagrad(0.1f, 0, 1e-10f, true, 0), h, h, new Tensor[] {h}),
                    "host tensors are left to the caller's host loop");
        }
        assertEquals(0, sim.liveBytes());
    }
}
