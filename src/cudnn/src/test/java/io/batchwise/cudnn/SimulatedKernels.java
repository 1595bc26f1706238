package io.batchwise.cudnn;

import io.batchwise.spi.Bf16;

/**
 * Java ports of the kernels in native/cuda, line for line, run on a {@link SimulatedDevice} with the
 * arguments of a {@link KernelCall}: one loop iteration per CUDA thread of the grid-stride loop.
 * Float arithmetic stays float where the kernel's is float, and double where it is double.
 */
final class SimulatedKernels {
    private SimulatedKernels() {
    }

    private static long l(Object[] a, int i) {
        return (Long) a[i];
    }

    private static int i32(Object[] a, int i) {
        return (Integer) a[i];
    }

    private static float f(Object[] a, int i) {
        return (Float) a[i];
    }

    private static double d(Object[] a, int i) {
        return (Double) a[i];
    }

    private static long p(Object[] a, int i) {
        return ((KernelCall.Ptr) a[i]).address();
    }

    /** bw_store: y = v, or v + beta y when beta != 0. */
    private static void store(SimulatedDevice m, long y, long i, float v, float beta) {
        store(m, y, i, v, beta, false);
    }

    /** bw_store over float32 or (h) bf16 elements. */
    private static void store(SimulatedDevice m, long y, long i, float v, float beta, boolean h) {
        put(m, y, i, beta == 0f ? v : v + beta * load(m, y, i, h), h);
    }

    /** bw_load: element i of a float32 or (h) bf16 array. */
    private static float load(SimulatedDevice m, long p, long i, boolean h) {
        return h ? Bf16.toFloat(m.getH(p + 2 * i)) : m.getF(p + 4 * i);
    }

    /** bw_put: v into element i, rounded to nearest even when bf16 (bw_bf16_from_float). */
    private static void put(SimulatedDevice m, long p, long i, float v, boolean h) {
        if (h) {
            m.putH(p + 2 * i, Bf16.fromFloat(v));
        } else {
            m.putF(p + 4 * i, v);
        }
    }

    private static float normalCdf(float x) {
        return (float) (0.5 * erfc(-x * 0.70710678118654752440));
    }

    private static float normalPdf(float x) {
        return (float) (0.39894228040143267794 * Math.exp(-0.5 * x * x));
    }

    /** erfc to double precision (Numerical Recipes' erfcc is not enough): via the continued series of erf. */
    static double erfc(double x) {
        double z = Math.abs(x);
        double r;
        if (z < 3) {
            // erf(z) = 2/sqrt(pi) sum_n (-1)^n z^(2n+1) / (n! (2n+1))
            double sum = 0;
            double term = z;
            for (int n = 0; n < 200; n++) {
                double t = term / (2 * n + 1);
                sum += t;
                term *= -z * z / (n + 1);
                if (Math.abs(t) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 1 - 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // continued fraction for erfc, good for z >= 3
            double f = 0;
            for (int n = 60; n >= 1; n--) {
                f = n / 2.0 / (z + f);
            }
            r = Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
        }
        return x < 0 ? 2 - r : r;
    }

    static void run(SimulatedDevice m, KernelCall call) {
        Object[] a = call.args();
        boolean h = call.kernel().bf16(); // the activations' element type (the _bf16 twins)
        switch (call.kernel()) {
            case LEAKY_RELU_FORWARD, LEAKY_RELU_FORWARD_BF16 -> {
                long n = l(a, 0);
                float slope = f(a, 1);
                for (long i = 0; i < n; i++) {
                    float v = load(m, p(a, 2), i, h);
                    put(m, p(a, 3), i, v > 0f ? v : slope * v, h);
                }
            }
            case LEAKY_RELU_BACKWARD, LEAKY_RELU_BACKWARD_BF16 -> {
                long n = l(a, 0);
                float slope = f(a, 1);
                for (long i = 0; i < n; i++) {
                    float x = load(m, p(a, 2), i, h);
                    store(m, p(a, 5), i, (x > 0f ? 1f : slope) * load(m, p(a, 3), i, h), f(a, 4), h);
                }
            }
            case GELU_FORWARD, GELU_FORWARD_BF16 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    float v = load(m, p(a, 1), i, h);
                    put(m, p(a, 2), i, v * normalCdf(v), h);
                }
            }
            case GELU_BACKWARD, GELU_BACKWARD_BF16 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    float v = load(m, p(a, 1), i, h);
                    store(m, p(a, 4), i, (normalCdf(v) + v * normalPdf(v)) * load(m, p(a, 2), i, h), f(a, 3), h);
                }
            }
            case SLICE_COPY, SLICE_COPY_BF16 -> {
                long outer = l(a, 0);
                long block = l(a, 1);
                for (long i = 0; i < outer * block; i++) {
                    long o = i / block;
                    long j = i - o * block;
                    float v = load(m, p(a, 2), o * l(a, 3) + l(a, 4) + j, h);
                    store(m, p(a, 5), o * l(a, 6) + l(a, 7) + j, v, f(a, 8), h);
                }
            }
            case CONVERT_F32_BF16 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    m.putH(p(a, 2) + 2 * i, Bf16.fromFloat(m.getF(p(a, 1) + 4 * i)));
                }
            }
            case CONVERT_BF16_F32 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    store(m, p(a, 3), i, load(m, p(a, 1), i, true), f(a, 2), false);
                }
            }
            case DROPOUT_MASK, DROPOUT_MASK_BF16 -> {
                long n = l(a, 0);
                long perSample = l(a, 1);
                long key = l(a, 2);
                long first = l(a, 3);
                float rate = f(a, 4);
                float kept = f(a, 5);
                for (long i = 0; i < n; i++) {
                    long sample = first + i / perSample;
                    long element = i % perSample;
                    long hash = mix(key + mix(sample * 0xD1B54A32D192ED03L + element));
                    double u = (hash >>> 40) * 0x1.0p-24;
                    put(m, p(a, 6), i, u >= (double) rate ? kept : 0f, h);
                }
            }
            case VEC_FILL, VEC_FILL_BF16 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    put(m, p(a, 2), i, f(a, 1), h);
                }
            }
            case VEC_AXPBY, VEC_AXPBY_BF16 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    store(m, p(a, 4), i, f(a, 1) * load(m, p(a, 2), i, h), f(a, 3), h);
                }
            }
            case VEC_MUL, VEC_MUL_BF16 -> {
                for (long i = 0; i < l(a, 0); i++) {
                    store(m, p(a, 4), i, load(m, p(a, 1), i, h) * load(m, p(a, 2), i, h), f(a, 3), h);
                }
            }
            case VEC_DIV -> {
                for (long i = 0; i < l(a, 0); i++) {
                    m.putF(p(a, 3) + 4 * i, m.getF(p(a, 1) + 4 * i) / m.getF(p(a, 2) + 4 * i));
                }
            }
            case VEC_SQRT -> {
                for (long i = 0; i < l(a, 0); i++) {
                    m.putF(p(a, 2) + 4 * i, (float) Math.sqrt(m.getF(p(a, 1) + 4 * i)));
                }
            }
            case VEC_LINEAR -> {
                for (long i = 0; i < l(a, 0); i++) {
                    m.putF(p(a, 4) + 4 * i, f(a, 1) * m.getF(p(a, 2) + 4 * i) + f(a, 3));
                }
            }
            case VEC_AXPBY_FLUSHED -> {
                for (long i = 0; i < l(a, 0); i++) {
                    long at = p(a, 4) + 4 * i;
                    float v = f(a, 1) * m.getF(p(a, 2) + 4 * i);
                    m.putF(at, flush(f(a, 3) == 0f ? v : v + f(a, 3) * m.getF(at)));
                }
            }
            case VEC_SUM_SQUARES -> {
                // Thread t of block b adds x[b B + t], x[b B + t + grid], ...; each block's sums meet in bw_block_sum's tree.
                long n = l(a, 0);
                int blocks = KernelCall.blocks(call.threads());
                long grid = (long) blocks * Kernel.BLOCK;
                for (int b = 0; b < blocks; b++) {
                    double[] part = new double[Kernel.BLOCK];
                    for (int t = 0; t < Kernel.BLOCK; t++) {
                        for (long i = (long) b * Kernel.BLOCK + t; i < n; i += grid) {
                            double v = m.getF(p(a, 1) + 4 * i);
                            part[t] += v * v;
                        }
                    }
                    m.putD(p(a, 2) + 8L * b, blockSum(part));
                }
            }
            case VEC_SUM -> {
                double[] part = new double[Kernel.BLOCK];
                for (int t = 0; t < Kernel.BLOCK; t++) {
                    for (long i = t; i < l(a, 0); i += Kernel.BLOCK) {
                        part[t] += m.getD(p(a, 1) + 8 * i);
                    }
                }
                m.putD(p(a, 2), blockSum(part));
            }
            case ADAM_STEP -> {
                float beta1 = f(a, 1);
                float beta2 = f(a, 2);
                float a1 = f(a, 3);
                float a2 = f(a, 4);
                float stepSize = f(a, 5);
                float invSqrtC2 = f(a, 6);
                float eps = f(a, 7);
                float keep = f(a, 8);
                float decay = f(a, 9);
                for (long i = 0; i < l(a, 0); i++) {
                    long w = p(a, 10) + 4 * i;
                    long mm = p(a, 12) + 4 * i;
                    long v = p(a, 13) + 4 * i;
                    float wi = m.getF(w) * keep;
                    float gi = m.getF(p(a, 11) + 4 * i) + decay * wi;
                    float mi = flush(beta1 * m.getF(mm) + a1 * gi);
                    float vi = flush(beta2 * m.getF(v) + a2 * gi * gi);
                    m.putF(mm, mi);
                    m.putF(v, vi);
                    m.putF(w, wi - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtC2 + eps));
                }
            }
            case ADAGRAD_STEP -> {
                float lr = f(a, 1);
                float wd = f(a, 2);
                float eps = f(a, 3);
                boolean first = i32(a, 4) != 0;
                float initial = f(a, 5);
                for (long i = 0; i < l(a, 0); i++) {
                    long w = p(a, 6) + 4 * i;
                    long sum = p(a, 8) + 4 * i;
                    float gi = m.getF(p(a, 7) + 4 * i) + wd * m.getF(w);
                    float acc = (first ? initial : m.getF(sum)) + gi * gi;
                    m.putF(sum, acc);
                    m.putF(w, m.getF(w) - lr * gi / ((float) Math.sqrt(acc) + eps));
                }
            }
            case RMSPROP_STEP -> {
                float wd = f(a, 1);
                float alpha = f(a, 2);
                float a1 = f(a, 3);
                float eps = f(a, 4);
                float mu = f(a, 5);
                float lr = f(a, 6);
                long buf = p(a, 10);
                long avg = p(a, 11);
                for (long i = 0; i < l(a, 0); i++) {
                    long w = p(a, 7) + 4 * i;
                    long v = p(a, 9) + 4 * i;
                    float gi = m.getF(p(a, 8) + 4 * i) + wd * m.getF(w);
                    float vi = flush(alpha * m.getF(v) + a1 * gi * gi);
                    m.putF(v, vi);
                    float d = vi;
                    if (avg != 0) {
                        float ai = flush(alpha * m.getF(avg + 4 * i) + a1 * gi);
                        m.putF(avg + 4 * i, ai);
                        d = vi - ai * ai;
                    }
                    float step = gi / ((float) Math.sqrt(d) + eps);
                    if (buf != 0) {
                        step = flush(mu * m.getF(buf + 4 * i) + step);
                        m.putF(buf + 4 * i, step);
                    }
                    m.putF(w, m.getF(w) - lr * step);
                }
            }
            case ADADELTA_STEP -> {
                float wd = f(a, 1);
                float rho = f(a, 2);
                float r1 = f(a, 3);
                float eps = f(a, 4);
                float lr = f(a, 5);
                for (long i = 0; i < l(a, 0); i++) {
                    long w = p(a, 6) + 4 * i;
                    long v = p(a, 8) + 4 * i;
                    long u = p(a, 9) + 4 * i;
                    float gi = m.getF(p(a, 7) + 4 * i) + wd * m.getF(w);
                    float vi = flush(rho * m.getF(v) + r1 * gi * gi);
                    m.putF(v, vi);
                    float ui = m.getF(u);
                    float dx = (float) Math.sqrt(ui + eps) / (float) Math.sqrt(vi + eps) * gi;
                    m.putF(u, flush(rho * ui + r1 * dx * dx));
                    m.putF(w, m.getF(w) - lr * dx);
                }
            }
            case BATCH_NORM_EXACT_CORRECTION, BATCH_NORM_EXACT_CORRECTION_BF16 -> {
                long n = l(a, 0);
                long c = l(a, 1);
                long hw = l(a, 2);
                long x = p(a, 3);
                long dy = p(a, 4);
                long dx = p(a, 10);
                long count = n * hw;
                for (long k = 0; k < c; k++) {
                    double mu = m.getF(p(a, 6) + 4 * k);
                    double is = m.getF(p(a, 7) + 4 * k);
                    double[] s1 = new double[Kernel.BLOCK];
                    double[] s2 = new double[Kernel.BLOCK];
                    for (int t = 0; t < Kernel.BLOCK; t++) {
                        for (long j = t; j < count; j += Kernel.BLOCK) {
                            long at = (j / hw * c + k) * hw + j % hw;
                            double d = load(m, dy, at, h);
                            s1[t] += d;
                            s2[t] += d * ((load(m, x, at, h) - mu) * is);
                        }
                    }
                    double gi = m.getF(p(a, 5) + 4 * k) * is;
                    double ca = blockSum(s1) / count - m.getF(p(a, 8) + 4 * k);
                    double cb = blockSum(s2) / count - m.getF(p(a, 9) + 4 * k);
                    for (long j = 0; j < count; j++) {
                        long at = (j / hw * c + k) * hw + j % hw;
                        double xhat = (load(m, x, at, h) - mu) * is;
                        put(m, dx, at, (float) (load(m, dx, at, h) + gi * (ca + xhat * cb)), h);
                    }
                }
            }
            case SOFTMAX_CROSS_ENTROPY -> {
                long batch = l(a, 0);
                int classes = i32(a, 1);
                double eps = f(a, 2);
                double scale = d(a, 3);
                for (long n = 0; n < batch; n++) {
                    long z = p(a, 4) + 4 * n * classes;
                    long g = p(a, 6) + 4 * n * classes;
                    int y = m.getI(p(a, 5) + 4 * n);
                    int arg = 0;
                    double max = m.getF(z);
                    for (int k = 1; k < classes; k++) {
                        if (m.getF(z + 4L * k) > max) {
                            max = m.getF(z + 4L * k);
                            arg = k;
                        }
                    }
                    double sum = 0;
                    for (int k = 0; k < classes; k++) {
                        sum += Math.exp(m.getF(z + 4L * k) - max);
                    }
                    double logZ = Math.log(sum) + max;
                    double loss = 0;
                    for (int k = 0; k < classes; k++) {
                        double q = (k == y ? 1.0 - eps : 0.0) + eps / classes;
                        double logp = m.getF(z + 4L * k) - logZ;
                        loss -= q * logp;
                        m.putF(g + 4L * k, (float) (scale * (Math.exp(logp) - q)));
                    }
                    m.putD(p(a, 7) + 8 * n, loss);
                    m.putI(p(a, 8) + 4 * n, arg == y ? 1 : 0);
                }
            }
            case SQUARED_ERROR -> {
                long batch = l(a, 0);
                long per = l(a, 1);
                double scale = d(a, 2);
                for (long n = 0; n < batch; n++) {
                    double loss = 0;
                    for (long k = n * per; k < (n + 1) * per; k++) {
                        double diff = (double) m.getF(p(a, 3) + 4 * k) - m.getF(p(a, 4) + 4 * k);
                        loss += diff * diff;
                        m.putF(p(a, 5) + 4 * k, (float) (scale * 2.0 * diff));
                    }
                    m.putD(p(a, 6) + 8 * n, loss);
                }
            }
        }
    }

    /** bw_flush: (x + 2^-80) - 2^-80, as VectorOps.FLUSH on the host. */
    private static float flush(float x) {
        return (x + io.batchwise.backend.VectorOps.FLUSH) - io.batchwise.backend.VectorOps.FLUSH;
    }

    /** bw_block_sum: the block's values added pairwise, halves folded onto the lower half, in place. */
    private static double blockSum(double[] part) {
        for (int s = part.length / 2; s > 0; s >>= 1) {
            for (int t = 0; t < s; t++) {
                part[t] += part[t + s];
            }
        }
        return part[0];
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
