package io.batchwise.train;

import io.batchwise.backend.Tensor;
import io.batchwise.backend.UpdateRule;
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
 *   <li>the adaptive rules (Adam, AdamW, Adagrad, RMSProp, Adadelta) run as one fused float32 pass per
 *       element: the backend's {@link VectorOps#update} where it has one (the cuDNN backend's kernels), else a
 *       host loop over chunks of {@value HostChunk#CHUNK} elements, read and written back in bulk (a memcpy
 *       for host tensors; no copy of the whole vector is ever held); both take the step's float32 scalars
 *       from one {@link UpdateRule};</li>
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
        UpdateRule r = rule(opt, t, lr);
        if (ops.update(r, params, grads, state)) {
            return; // ran where the tensors live
        }
        // Bulk copies of bounded chunks (memcpy from host memory) feed a tight loop over arrays: a loop over
        // direct buffers was 20x slower (buffer accessors defeat the JIT), and no whole-vector copy is made.
        if (chunks == null) {
            chunks = new HostChunk(n, state.length);
        }
        chunks.forEach(n, params, grads, state, (w, g, s, len) -> apply(r, w, g, s, len));
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
        apply(rule(opt, t, lr), w, g, s, n);
    }

    /** The step-{@code t} scalars of an adaptive rule, rounded to float32 once, for the host loop and the backend's pass. */
    static UpdateRule rule(Optimizer opt, long t, double lr) {
        if (opt instanceof Optimizer.Sgd) {
            throw new IllegalArgumentException("SGD runs as VectorOps passes, not as a fused rule");
        } else if (opt instanceof Optimizer.Adam o) {
            return adam(t, lr, o.beta1(), o.beta2(), o.eps(), o.weightDecay(), 0);
        } else if (opt instanceof Optimizer.AdamW o) {
            return adam(t, lr, o.beta1(), o.beta2(), o.eps(), 0, o.weightDecay());
        } else if (opt instanceof Optimizer.Adagrad o) {
            return new UpdateRule.Adagrad((float) (lr / (1 + (t - 1) * o.lrDecay())), (float) o.weightDecay(), (float) o.eps(),
                    t == 1, (float) o.initialAccumulator());
        } else if (opt instanceof Optimizer.RmsProp o) {
            return new UpdateRule.RmsProp((float) o.weightDecay(), (float) o.alpha(), (float) (1 - o.alpha()), (float) o.eps(),
                    (float) o.momentum(), (float) lr, o.momentum() > 0, o.centered());
        } else if (opt instanceof Optimizer.Adadelta o) {
            return new UpdateRule.Adadelta((float) o.weightDecay(), (float) o.rho(), (float) (1 - o.rho()), (float) o.eps(),
                    (float) lr);
        }
        throw new IllegalArgumentException("no update rule for " + opt);
    }

    /**
     * Adam with L2 decay ({@code l2}) or AdamW's decoupled decay ({@code decoupled}); never both. The bias
     * corrections are folded into two scalars ({@code w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)}): one square
     * root and one division per element, a loop the JIT vectorizes.
     */
    private static UpdateRule.Adam adam(long t, double lr, double b1, double b2, double eps, double l2, double decoupled) {
        return new UpdateRule.Adam((float) b1, (float) b2, (float) (1 - b1), (float) (1 - b2), (float) (lr / (1 - Math.pow(b1, t))),
                (float) (1 / Math.sqrt(1 - Math.pow(b2, t))), (float) eps, (float) (1 - lr * decoupled), (float) l2);
    }

    /** One step of {@code rule} over {@code n} staged elements (state slots in the rule's order). */
    static void apply(UpdateRule rule, float[] w, float[] g, float[][] s, int n) {
        if (rule instanceof UpdateRule.Adam r) {
            adam(r, w, g, s[0], s[1], n);
        } else if (rule instanceof UpdateRule.Adagrad r) {
            adagrad(r, w, g, s[0], n);
        } else if (rule instanceof UpdateRule.RmsProp r) {
            rmsProp(r, w, g, s, n);
        } else if (rule instanceof UpdateRule.Adadelta r) {
            adadelta(r, w, g, s[0], s[1], n);
        }
    }

    /** torch.optim.Adagrad: {@code g += wd w; sum += g^2; w -= lr / (1 + (t - 1) lr_decay) g / (sqrt(sum) + eps)}. */
    private static void adagrad(UpdateRule.Adagrad r, float[] w, float[] g, float[] sum, int n) {
        float clr = r.lr();
        float wd = r.weightDecay();
        float e = r.eps();
        if (r.first()) {
            Arrays.fill(sum, 0, n, r.initial());
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
    private static void rmsProp(UpdateRule.RmsProp r, float[] w, float[] g, float[][] s, int n) {
        float wd = r.weightDecay();
        float alpha = r.alpha();
        float a1 = r.a1();
        float e = r.eps();
        float mu = r.momentum();
        float rate = r.lr();
        float[] v = s[0];
        float[] buf = r.withMomentum() ? s[1] : null;
        float[] avg = r.centered() ? s[r.withMomentum() ? 2 : 1] : null;
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
    private static void adadelta(UpdateRule.Adadelta r, float[] w, float[] g, float[] v, float[] u, int n) {
        float wd = r.weightDecay();
        float rho = r.rho();
        float r1 = r.r1();
        float e = r.eps();
        float rate = r.lr();
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

    /** Adam or AdamW (see {@link UpdateRule.Adam}). */
    private static void adam(UpdateRule.Adam r, float[] w, float[] g, float[] m, float[] v, int n) {
        float beta1 = r.beta1();
        float beta2 = r.beta2();
        float a1 = r.a1();
        float a2 = r.a2();
        float stepSize = r.stepSize();
        float invSqrtC2 = r.invSqrtC2();
        float e = r.eps();
        float keep = r.keep();
        float decay = r.decay();
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
