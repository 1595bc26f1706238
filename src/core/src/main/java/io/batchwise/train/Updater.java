package io.batchwise.train;

import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import java.util.Arrays;

/**
 * Applies an {@link Optimizer}'s rule over a graph's flat parameter, gradient and optimizer-state
 * tensors of {@code n} elements, where they live: nothing is copied into Java arrays per step.
 *
 * <ul>
 *   <li>SGD (plain, momentum, Nesterov, weight decay) is a chain of {@code y = a x + b y} passes in the
 *       backend's {@link VectorOps} (one oneDNN binary primitive per pass on the CPU backend: plain SGD
 *       is a single pass over the weights);</li>
 *   <li>the adaptive rules (Adam, AdamW, Adagrad, RMSProp, Adadelta) run as one fused float32 loop per
 *       element over chunks of {@value HostChunk#CHUNK} elements, read and written back in bulk (a
 *       memcpy for host tensors; no copy of the whole vector is ever held);</li>
 *   <li>gradient norms and clipping go through {@link VectorOps} too.</li>
 * </ul>
 * Owned by one trainer; not thread-safe.
 */
final class Updater {
    private final Optimizer opt;
    private final long n;
    private final VectorOps ops;
    /** The gradients named by the last {@link #loadGradients}: the ones the next {@link #step} applies. */
    private Tensor grads;
    private HostChunk chunks;

    Updater(Optimizer opt, long n) {
        this(opt, n, VectorOps.host());
    }

    Updater(Optimizer opt, long n, VectorOps ops) {
        this.opt = opt;
        this.n = n;
        this.ops = ops;
    }

    /** Names the gradients the next step applies and returns their squared L2 norm. */
    double loadGradients(Tensor grads) {
        this.grads = grads;
        return ops.sumOfSquares(grads);
    }

    /** Names the gradients the next step applies, without their norm. */
    void useGradients(Tensor grads) {
        this.grads = grads;
    }

    /** Scales the gradients in place (clipping), so the tensor shows what the step uses. */
    void scaleGradients(Tensor grads, double factor) {
        ops.axpby(grads, 0, grads, factor);
    }

    /** One update at step {@code t} (from 1) with learning rate {@code lr}, using the loaded gradients. */
    void step(Tensor params, Tensor[] state, long t, double lr) {
        if (grads == null) {
            throw new IllegalStateException("no gradients loaded before the optimizer step");
        }
        if (opt instanceof Optimizer.Sgd o) {
            sgd(o, params, grads, state, t, lr);
            return;
        }
        // Bulk copies of bounded chunks (memcpy from host memory) feed a tight loop over arrays: a loop over
        // direct buffers was 20x slower (buffer accessors defeat the JIT), and no whole-vector copy is made.
        if (chunks == null) {
            chunks = new HostChunk(n, state.length);
        }
        chunks.forEach(n, params, grads, state, (w, g, s, len) -> rule(opt, w, g, s, len, t, lr));
    }

    /**
     * torch.optim.SGD: {@code g += wd w}; with momentum {@code buf = g} at the first step, then
     * {@code buf = mu buf + (1 - dampening) g}; Nesterov {@code g += mu buf}, else {@code g = buf};
     * {@code w -= lr g}. The gradient tensor holds the decayed (and Nesterov) gradient afterwards.
     */
    private void sgd(Optimizer.Sgd o, Tensor w, Tensor g, Tensor[] s, long t, double lr) {
        if (o.weightDecay() != 0) {
            ops.axpby(g, o.weightDecay(), w, 1);
        }
        Tensor d = g;
        if (o.momentum() != 0) {
            if (t == 1) {
                ops.axpby(s[0], 1, g, 0);
            } else {
                ops.axpbyFlushed(s[0], 1 - o.dampening(), g, o.momentum()); // decays where g stays 0: never subnormal
            }
            if (o.nesterov()) {
                ops.axpby(g, o.momentum(), s[0], 1);
            } else {
                d = s[0];
            }
        }
        ops.axpby(w, -lr, d, 1);
    }

    /**
     * Flush to zero for decaying optimizer state. A parameter whose gradient is exactly 0 (a dead ReLU unit) lets its
     * moments decay into float32's subnormal range, where every operation on them takes a microcode assist: the MLP's
     * AdamW loop ran 10x slower (4.5 ns per element against 0.4) once they got there, and they never leave (0.9 times
     * the smallest subnormal rounds back to it). {@code (x + FLUSH) - FLUSH} is {@code x} exactly for
     * {@code |x| >= 2^-55}, within {@code 2^-78} of it below, and zero or at least {@code 2^-104} in magnitude (far
     * from subnormal, and far below anything an update of a float32 weight can see); unlike a branch it keeps the loop
     * vectorized.
     */
    static final float FLUSH = VectorOps.FLUSH;

    /**
     * The adaptive rules over {@code n} staged elements, in float32 like torch.optim's float32 path, with the
     * step's scalars hoisted: loops the JIT vectorizes (in float64 the RMSProp, Adagrad and Adadelta loops ran
     * 11-22x a plain SGD step for the MLP at batch 32). Decaying state goes through {@link #FLUSH}.
     */
    static void rule(Optimizer opt, float[] w, float[] g, float[][] s, int n, long t, double lr) {
        if (opt instanceof Optimizer.Sgd) {
            throw new IllegalArgumentException("SGD runs as VectorOps passes, not as a fused rule");
        } else if (opt instanceof Optimizer.Adam o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), o.weightDecay(), 0);
        } else if (opt instanceof Optimizer.AdamW o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), 0, o.weightDecay());
        } else if (opt instanceof Optimizer.Adagrad o) {
            adagrad(o, w, g, s[0], n, t, lr);
        } else if (opt instanceof Optimizer.RmsProp o) {
            rmsProp(o, w, g, s, n, lr);
        } else if (opt instanceof Optimizer.Adadelta o) {
            adadelta(o, w, g, s[0], s[1], n, lr);
        }
    }

    /** torch.optim.Adagrad: {@code g += wd w; sum += g^2; w -= lr / (1 + (t - 1) lr_decay) g / (sqrt(sum) + eps)}. */
    private static void adagrad(Optimizer.Adagrad o, float[] w, float[] g, float[] sum, int n, long t, double lr) {
        float clr = (float) (lr / (1 + (t - 1) * o.lrDecay()));
        float wd = (float) o.weightDecay();
        float e = (float) o.eps();
        if (t == 1) {
            Arrays.fill(sum, 0, n, (float) o.initialAccumulator());
        }
        for (int i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float acc = sum[i] + gi * gi;
            sum[i] = acc;
            w[i] = w[i] - clr * gi / ((float) Math.sqrt(acc) + e);
        }
    }

    /**
     * torch.optim.RMSprop: {@code g += wd w; v = alpha v + (1 - alpha) g^2}; centred {@code a = alpha a + (1 - alpha) g},
     * denominator {@code sqrt(v - a^2) + eps}, else {@code sqrt(v) + eps}; with momentum {@code buf = mu buf + g / den,
     * w -= lr buf}, else {@code w -= lr g / den}. Slots: v, then buf (with momentum), then a (centred).
     */
    private static void rmsProp(Optimizer.RmsProp o, float[] w, float[] g, float[][] s, int n, double lr) {
        float wd = (float) o.weightDecay();
        float alpha = (float) o.alpha();
        float a1 = (float) (1 - o.alpha());
        float e = (float) o.eps();
        float mu = (float) o.momentum();
        float rate = (float) lr;
        float[] v = s[0];
        float[] buf = o.momentum() > 0 ? s[1] : null;
        float[] avg = o.centered() ? s[o.momentum() > 0 ? 2 : 1] : null;
        for (int i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float vi = (alpha * v[i] + a1 * gi * gi + FLUSH) - FLUSH;
            v[i] = vi;
            float d = vi;
            if (avg != null) {
                float ai = (alpha * avg[i] + a1 * gi + FLUSH) - FLUSH;
                avg[i] = ai;
                d = vi - ai * ai;
            }
            float step = gi / ((float) Math.sqrt(d) + e);
            if (buf != null) {
                step = (mu * buf[i] + step + FLUSH) - FLUSH;
                buf[i] = step;
            }
            w[i] = w[i] - rate * step;
        }
    }

    /**
     * torch.optim.Adadelta: {@code g += wd w; v = rho v + (1 - rho) g^2; dx = sqrt(u + eps) / sqrt(v + eps) g;
     * u = rho u + (1 - rho) dx^2; w -= lr dx}.
     */
    private static void adadelta(Optimizer.Adadelta o, float[] w, float[] g, float[] v, float[] u, int n, double lr) {
        float wd = (float) o.weightDecay();
        float rho = (float) o.rho();
        float r1 = (float) (1 - o.rho());
        float e = (float) o.eps();
        float rate = (float) lr;
        for (int i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float vi = (rho * v[i] + r1 * gi * gi + FLUSH) - FLUSH;
            v[i] = vi;
            float ui = u[i];
            float dx = (float) Math.sqrt(ui + e) / (float) Math.sqrt(vi + e) * gi;
            u[i] = (rho * ui + r1 * dx * dx + FLUSH) - FLUSH;
            w[i] = w[i] - rate * dx;
        }
    }

    /**
     * Adam with L2 decay ({@code l2}) or AdamW's decoupled decay ({@code decoupled}); never both. The bias
     * corrections are folded into two scalars ({@code w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)}): one square
     * root and one division per element, a loop the JIT vectorizes.
     */
    private static void adam(float[] w, float[] g, float[][] s, int n, long t, double lr,
                             double b1, double b2, double eps, double l2, double decoupled) {
        float[] m = s[0];
        float[] v = s[1];
        float beta1 = (float) b1;
        float beta2 = (float) b2;
        float a1 = (float) (1 - b1);
        float a2 = (float) (1 - b2);
        float stepSize = (float) (lr / (1 - Math.pow(b1, t)));
        float invSqrtC2 = (float) (1 / Math.sqrt(1 - Math.pow(b2, t)));
        float e = (float) eps;
        float keep = (float) (1 - lr * decoupled);
        float decay = (float) l2;
        for (int i = 0; i < n; i++) {
            float wi = w[i] * keep;
            float gi = g[i] + decay * wi;
            float mi = (beta1 * m[i] + a1 * gi + FLUSH) - FLUSH;
            float vi = (beta2 * v[i] + a2 * gi * gi + FLUSH) - FLUSH;
            m[i] = mi;
            v[i] = vi;
            w[i] = wi - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtC2 + e);
        }
    }
}
