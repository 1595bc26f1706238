package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.layer.DropoutMask;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every kernel of native/cuda, compiled by NVRTC and run on the GPU, against its Java port
 * ({@link SimulatedKernels}) on the same random inputs with the same launch arguments. Skipped without a GPU.
 */
class CudnnKernelsTest {
    private static CudaDevice gpu;
    private final SimulatedDevice sim = new SimulatedDevice();
    private final Random rng = new Random(42);
    private final List<long[]> allocated = new ArrayList<>();

    @BeforeEach
    void device() {
        Gpu.assumeAvailable();
        gpu = CudaDevice.get();
    }

    /** A buffer on both devices: address on the GPU, address on the simulation. */
    private record Buf(long gpu, long sim, long bytes) {
    }

    private Buf floats(float[] v) {
        Buf b = new Buf(gpu.allocate(4L * v.length, "test"), sim.allocate(4L * v.length, "test"), 4L * v.length);
        gpu.upload(b.gpu, v, 0, v.length);
        sim.upload(b.sim, v, 0, v.length);
        allocated.add(new long[] {b.gpu, b.bytes});
        return b;
    }

    private Buf ints(int[] v) {
        Buf b = new Buf(gpu.allocate(4L * v.length, "test"), sim.allocate(4L * v.length, "test"), 4L * v.length);
        gpu.uploadInts(b.gpu, v, 0, v.length);
        sim.uploadInts(b.sim, v, 0, v.length);
        allocated.add(new long[] {b.gpu, b.bytes});
        return b;
    }

    private Buf doubles(int n) {
        Buf b = new Buf(gpu.allocate(8L * n, "test"), sim.allocate(8L * n, "test"), 8L * n);
        allocated.add(new long[] {b.gpu, b.bytes});
        return b;
    }

    private float[] random(int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        }
        return a;
    }

    /** Runs {@code kernel} on both devices; args use Buf for pointers (resolved per device). */
    private void run(Kernel kernel, long threads, Object... args) {
        Object[] g = args.clone();
        Object[] s = args.clone();
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof Buf b) {
                g[i] = new KernelCall.Ptr(b.gpu);
                s[i] = new KernelCall.Ptr(b.sim);
            }
        }
        gpu.launch(new KernelCall(kernel, threads, g), kernel.symbol);
        gpu.synchronize(kernel.symbol);
        SimulatedKernels.run(sim, new KernelCall(kernel, threads, s));
        covered.add(kernel);
    }

    private final Set<Kernel> covered = EnumSet.noneOf(Kernel.class);

    private void assertSameFloats(String what, Buf b, int n, double tolerance) {
        float[] a = new float[n];
        float[] e = new float[n];
        gpu.download(b.gpu, a, 0, n);
        sim.download(b.sim, e, 0, n);
        for (int i = 0; i < n; i++) {
            double err = Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i]));
            assertTrue(err <= tolerance, what + ": element " + i + " is " + a[i] + " on the GPU, " + e[i] + " in Java");
        }
    }

    @Test
    void everyKernelMatchesItsJavaPort() {
        int n = 1000;
        try {
            Buf x = floats(random(n, -3, 3));
            Buf dy = floats(random(n, -1, 1));
            Buf y = floats(random(n, -1, 1));
            run(Kernel.LEAKY_RELU_FORWARD, n, (long) n, 0.1f, x, y);
            assertSameFloats("leaky_relu_forward", y, n, 0);
            Buf dx = floats(random(n, -1, 1));
            run(Kernel.LEAKY_RELU_BACKWARD, n, (long) n, 0.1f, x, dy, 1f, dx);
            assertSameFloats("leaky_relu_backward (beta 1)", dx, n, 1e-7);
            run(Kernel.GELU_FORWARD, n, (long) n, x, y);
            assertSameFloats("gelu_forward", y, n, 2e-6);
            run(Kernel.GELU_BACKWARD, n, (long) n, x, dy, 0f, dx);
            assertSameFloats("gelu_backward", dx, n, 2e-6);

            Buf src = floats(random(7 * 40, -1, 1));
            Buf dst = floats(random(7 * 50, -1, 1));
            run(Kernel.SLICE_COPY, 7 * 33, 7L, 33L, src, 40L, 5L, dst, 50L, 11L, 1f);
            assertSameFloats("slice_copy", dst, 7 * 50, 1e-7);

            Buf mask = floats(new float[7 * 99]);
            long key = DropoutMask.nodeKey(123, "drop");
            run(Kernel.DROPOUT_MASK, 7 * 99, 7L * 99, 99L, key, 5L, 0.3f, 1f / 0.7f, mask);
            float[] m = new float[7 * 99];
            gpu.download(mask.gpu, m, 0, m.length);
            for (int i = 0; i < m.length; i++) {
                boolean keep = DropoutMask.keep(key, 5 + i / 99, i % 99, 0.3f);
                assertEquals(keep ? 1f / 0.7f : 0f, m[i], "mask element " + i + " differs from DropoutMask.keep");
            }

            run(Kernel.VEC_FILL, n, (long) n, 2.5f, y);
            assertSameFloats("vec_fill", y, n, 0);
            run(Kernel.VEC_AXPBY, n, (long) n, 2f, x, 0.5f, y);
            assertSameFloats("vec_axpby", y, n, 1e-7);
            run(Kernel.VEC_MUL, n, (long) n, x, dy, 0f, y);
            assertSameFloats("vec_mul", y, n, 1e-7);
            Buf pos = floats(random(n, 0.5, 4));
            run(Kernel.VEC_DIV, n, (long) n, x, pos, y);
            assertSameFloats("vec_div", y, n, 1e-7);
            run(Kernel.VEC_SQRT, n, (long) n, pos, y);
            assertSameFloats("vec_sqrt", y, n, 1e-7);
            run(Kernel.VEC_LINEAR, n, (long) n, -0.5f, x, 1e-3f, y);
            assertSameFloats("vec_linear", y, n, 1e-7);

            run(Kernel.VEC_AXPBY_FLUSHED, n, (long) n, 1e-30f, x, 0.5f, y);
            assertSameFloats("vec_axpby_flushed", y, n, 1e-7);

            // The optimizer kernels round as Java does (no FMA): the GPU's bits are the port's.
            Buf w = floats(random(n, -1, 1));
            Buf g = floats(random(n, -0.1, 0.1));
            Buf s0 = floats(random(n, 0, 0.01));
            Buf s1 = floats(random(n, 0, 0.01));
            Buf s2 = floats(random(n, -0.01, 0.01));
            run(Kernel.ADAM_STEP, n, (long) n, 0.9f, 0.999f, 0.1f, 0.001f, 0.02f, 3.2f, 1e-8f, 0.999f, 0.01f, w, g, s0, s1);
            run(Kernel.ADAGRAD_STEP, n, (long) n, 0.05f, 0.001f, 1e-10f, 0, 0.1f, w, g, s0);
            run(Kernel.RMSPROP_STEP, n, (long) n, 0.001f, 0.99f, 0.01f, 1e-8f, 0.9f, 0.01f, w, g, s1, s2, s0);
            run(Kernel.RMSPROP_STEP, n, (long) n, 0f, 0.99f, 0.01f, 1e-8f, 0f, 0.01f, w, g, s1, new KernelCall.Ptr(0),
                    new KernelCall.Ptr(0));
            run(Kernel.ADADELTA_STEP, n, (long) n, 0.001f, 0.9f, 0.1f, 1e-6f, 1f, w, g, s1, s2);
            for (Buf b : List.of(w, s0, s1, s2)) {
                assertSameFloats("optimizer steps", b, n, 0);
            }

            // Exact BatchNorm's correction over (5, 3, 7): one block per channel.
            Buf bx = floats(random(105, -2, 2));
            Buf bdy = floats(random(105, -1, 1));
            Buf bdx = floats(random(105, -1, 1));
            Buf gamma = floats(new float[] {1.5f, -0.5f, 2f});
            Buf mean = floats(new float[] {0.1f, 0.2f, -0.3f});
            Buf invStd = floats(new float[] {0.5f, 1f, 2f});
            Buf meanDy = floats(new float[] {0.01f, -0.02f, 0.03f});
            Buf meanDyXhat = floats(new float[] {0.2f, 0.1f, 0f});
            run(Kernel.BATCH_NORM_EXACT_CORRECTION, 3L * Kernel.BLOCK, 5L, 3L, 7L, bx, bdy, gamma, mean, invStd, meanDy, meanDyXhat,
                    bdx);
            assertSameFloats("batch_norm_exact_correction", bdx, 105, 1e-6);

            Buf big = floats(random(100_000, -1, 1));
            int blocks = KernelCall.blocks(100_000);
            Buf partials = doubles(blocks);
            Buf sum = doubles(1);
            run(Kernel.VEC_SUM_SQUARES, 100_000, 100_000L, big, partials);
            run(Kernel.VEC_SUM, Kernel.BLOCK, (long) blocks, partials, sum);
            double[] a = new double[1];
            double[] e = new double[1];
            gpu.downloadDoubles(sum.gpu, a, 0, 1);
            sim.downloadDoubles(sum.sim, e, 0, 1);
            assertEquals(e[0], a[0], 1e-9 * e[0], "sum of squares");

            int batch = 13;
            int classes = 10;
            Buf logits = floats(random(batch * classes, -4, 4));
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = rng.nextInt(classes);
            }
            Buf lab = ints(labels);
            Buf grad = floats(new float[batch * classes]);
            Buf losses = doubles(batch);
            Buf correct = ints(new int[batch]);
            run(Kernel.SOFTMAX_CROSS_ENTROPY, batch, (long) batch, classes, 0.1f, 1.0 / batch, logits, lab, grad, losses, correct);
            assertSameFloats("softmax_cross_entropy gradient", grad, batch * classes, 1e-6);
            double[] la = new double[batch];
            double[] le = new double[batch];
            gpu.downloadDoubles(losses.gpu, la, 0, batch);
            sim.downloadDoubles(losses.sim, le, 0, batch);
            assertArrayEquals(le, la, 1e-9, "per-sample cross-entropy");
            int[] ca = new int[batch];
            int[] ce = new int[batch];
            gpu.downloadInts(correct.gpu, ca, 0, batch);
            sim.downloadInts(correct.sim, ce, 0, batch);
            assertArrayEquals(ce, ca, "arg-max hits");

            Buf out = floats(random(batch * 7, -2, 2));
            Buf target = floats(random(batch * 7, -2, 2));
            Buf g2 = floats(new float[batch * 7]);
            run(Kernel.SQUARED_ERROR, batch, (long) batch, 7L, 0.5, out, target, g2, losses);
            assertSameFloats("squared_error gradient", g2, batch * 7, 1e-6);
            gpu.downloadDoubles(losses.gpu, la, 0, batch);
            sim.downloadDoubles(losses.sim, le, 0, batch);
            assertArrayEquals(le, la, 1e-9, "per-sample squared error");

            assertEquals(EnumSet.allOf(Kernel.class), covered, "every kernel was run");
        } finally {
            for (long[] b : allocated) {
                gpu.free(b[0], b[1]);
            }
        }
    }
}
