package io.batchwise.train;

import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import java.nio.FloatBuffer;

/**
 * Applies an {@link Optimizer}'s rule over a graph's flat parameter, gradient and optimizer-state
 * tensors of {@code n} elements, where they live: nothing is copied into Java arrays per step.
 *
 * <ul>
 *   <li>SGD (plain, momentum, Nesterov, weight decay) is a chain of {@code y = a x + b y} passes in the
 *       backend's {@link VectorOps} (one oneDNN binary primitive per pass on the CPU backend: plain SGD
 *       is a single pass over the weights);</li>
 *   <li>the adaptive rules (Adam, AdamW, Adagrad, RMSProp, Adadelta) run as one fused float64 loop per
 *       element over the tensors' {@link io.batchwise.backend.HostTensor#floatView() host views}, or, for
 *       tensors without one, over chunks of {@value HostChunk#CHUNK} elements read and written back;</li>
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
        FloatBuffer w = HostChunk.view(params);
        FloatBuffer g = HostChunk.view(grads);
        FloatBuffer[] s = new FloatBuffer[state.length];
        boolean inPlace = w != null && g != null;
        for (int k = 0; k < s.length; k++) {
            s[k] = HostChunk.view(state[k]);
            inPlace &= s[k] != null;
        }
        if (inPlace) {
            rule(opt, w, g, s, Math.toIntExact(n), t, lr);
        } else {
            HostChunk.forEach(n, params, grads, state, (cw, cg, cs, len) -> rule(opt, cw, cg, cs, len, t, lr));
        }
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
                ops.axpby(s[0], 1 - o.dampening(), g, o.momentum());
            }
            if (o.nesterov()) {
                ops.axpby(g, o.momentum(), s[0], 1);
            } else {
                d = s[0];
            }
        }
        ops.axpby(w, -lr, d, 1);
    }

    /** The adaptive rules over {@code len} elements of buffers (host views, or staged chunks). */
    static void rule(Optimizer opt, FloatBuffer w, FloatBuffer g, FloatBuffer[] s, int n, long t, double lr) {
        if (opt instanceof Optimizer.Sgd) {
            throw new IllegalArgumentException("SGD runs as VectorOps passes, not as a fused rule");
        } else if (opt instanceof Optimizer.Adam o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), o.weightDecay(), 0);
        } else if (opt instanceof Optimizer.AdamW o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), 0, o.weightDecay());
        } else if (opt instanceof Optimizer.Adagrad o) {
            double clr = lr / (1 + (t - 1) * o.lrDecay());
            for (int i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                double acc = (t == 1 ? o.initialAccumulator() : s[0].get(i)) + gi * gi;
                s[0].put(i, (float) acc);
                w.put(i, (float) (w.get(i) - clr * gi / (Math.sqrt(acc) + o.eps())));
            }
        } else if (opt instanceof Optimizer.RmsProp o) {
            int centredSlot = o.momentum() > 0 ? 2 : 1;
            for (int i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                double v = o.alpha() * s[0].get(i) + (1 - o.alpha()) * gi * gi;
                s[0].put(i, (float) v);
                double d = v;
                if (o.centered()) {
                    double a = o.alpha() * s[centredSlot].get(i) + (1 - o.alpha()) * gi;
                    s[centredSlot].put(i, (float) a);
                    d = v - a * a;
                }
                double step = gi / (Math.sqrt(d) + o.eps());
                if (o.momentum() > 0) {
                    step = o.momentum() * s[1].get(i) + step;
                    s[1].put(i, (float) step);
                }
                w.put(i, (float) (w.get(i) - lr * step));
            }
        } else if (opt instanceof Optimizer.Adadelta o) {
            for (int i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                double v = o.rho() * s[0].get(i) + (1 - o.rho()) * gi * gi;
                s[0].put(i, (float) v);
                double u = s[1].get(i);
                double dx = Math.sqrt(u + o.eps()) / Math.sqrt(v + o.eps()) * gi;
                s[1].put(i, (float) (o.rho() * u + (1 - o.rho()) * dx * dx));
                w.put(i, (float) (w.get(i) - lr * dx));
            }
        }
    }

    // Adam with L2 decay (l2) or AdamW's decoupled decay (decoupled); never both.
    private static void adam(FloatBuffer w, FloatBuffer g, FloatBuffer[] s, int n, long t, double lr,
                             double b1, double b2, double eps, double l2, double decoupled) {
        double c1 = 1 - Math.pow(b1, t);
        double c2 = 1 - Math.pow(b2, t);
        for (int i = 0; i < n; i++) {
            double wi = w.get(i) * (1 - lr * decoupled);
            double gi = g.get(i) + l2 * wi;
            double m = b1 * s[0].get(i) + (1 - b1) * gi;
            double v = b2 * s[1].get(i) + (1 - b2) * gi * gi;
            s[0].put(i, (float) m);
            s[1].put(i, (float) v);
            w.put(i, (float) (wi - lr * (m / c1) / (Math.sqrt(v / c2) + eps)));
        }
    }

}
