package io.batchwise.train;

import io.batchwise.backend.Tensor;

/**
 * Applies an {@link Optimizer}'s rule over a graph's flat parameter, gradient and optimizer-state
 * buffers of {@code n} elements. Each buffer is staged in a Java array reused across steps (one bulk
 * copy in and out: a memcpy for host tensors), so the rule runs as a tight int-indexed loop over
 * arrays; arithmetic in float64, stored as float32. Owned by one trainer; not thread-safe.
 */
final class Updater {
    private final Optimizer opt;
    private final int n;
    private final float[] w;
    private final float[] g;
    private final float[][] s;

    Updater(Optimizer opt, long n) {
        this.opt = opt;
        this.n = Math.toIntExact(n);
        this.w = new float[this.n];
        this.g = new float[this.n];
        this.s = new float[opt.stateSlots()][this.n];
    }

    /** Stages the gradients and returns their squared L2 norm. */
    double loadGradients(Tensor grads) {
        grads.read(0, g, 0, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) g[i] * g[i];
        }
        return sum;
    }

    /** Scales the staged gradients (clipping) and writes them back, so the tensor shows what the step used. */
    void scaleGradients(Tensor grads, double factor) {
        for (int i = 0; i < n; i++) {
            g[i] = (float) (g[i] * factor);
        }
        grads.write(0, g, 0, n);
    }

    /** One update at step {@code t} (from 1) with learning rate {@code lr}, using the staged gradients. */
    void step(Tensor params, Tensor[] state, long t, double lr) {
        params.read(0, w, 0, n);
        for (int k = 0; k < s.length; k++) {
            state[k].read(0, s[k], 0, n);
        }
        rule(opt, w, g, s, n, t, lr);
        params.write(0, w, 0, n);
        for (int k = 0; k < s.length; k++) {
            state[k].write(0, s[k], 0, n);
        }
    }

    static void rule(Optimizer opt, float[] w, float[] g, float[][] s, int n, long t, double lr) {
        if (opt instanceof Optimizer.Sgd o) {
            for (int i = 0; i < n; i++) {
                double gi = g[i] + o.weightDecay() * w[i];
                if (o.momentum() != 0) {
                    double b = t == 1 ? gi : o.momentum() * s[0][i] + (1 - o.dampening()) * gi;
                    s[0][i] = (float) b;
                    gi = o.nesterov() ? gi + o.momentum() * b : b;
                }
                w[i] = (float) (w[i] - lr * gi);
            }
        } else if (opt instanceof Optimizer.Adam o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), o.weightDecay(), 0);
        } else if (opt instanceof Optimizer.AdamW o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), 0, o.weightDecay());
        } else if (opt instanceof Optimizer.Adagrad o) {
            double clr = lr / (1 + (t - 1) * o.lrDecay());
            for (int i = 0; i < n; i++) {
                double gi = g[i] + o.weightDecay() * w[i];
                double acc = (t == 1 ? o.initialAccumulator() : s[0][i]) + gi * gi;
                s[0][i] = (float) acc;
                w[i] = (float) (w[i] - clr * gi / (Math.sqrt(acc) + o.eps()));
            }
        } else if (opt instanceof Optimizer.RmsProp o) {
            int centredSlot = o.momentum() > 0 ? 2 : 1;
            for (int i = 0; i < n; i++) {
                double gi = g[i] + o.weightDecay() * w[i];
                double v = o.alpha() * s[0][i] + (1 - o.alpha()) * gi * gi;
                s[0][i] = (float) v;
                double d = v;
                if (o.centered()) {
                    double a = o.alpha() * s[centredSlot][i] + (1 - o.alpha()) * gi;
                    s[centredSlot][i] = (float) a;
                    d = v - a * a;
                }
                double step = gi / (Math.sqrt(d) + o.eps());
                if (o.momentum() > 0) {
                    step = o.momentum() * s[1][i] + step;
                    s[1][i] = (float) step;
                }
                w[i] = (float) (w[i] - lr * step);
            }
        } else if (opt instanceof Optimizer.Adadelta o) {
            for (int i = 0; i < n; i++) {
                double gi = g[i] + o.weightDecay() * w[i];
                double v = o.rho() * s[0][i] + (1 - o.rho()) * gi * gi;
                s[0][i] = (float) v;
                double u = s[1][i];
                double dx = Math.sqrt(u + o.eps()) / Math.sqrt(v + o.eps()) * gi;
                s[1][i] = (float) (o.rho() * u + (1 - o.rho()) * dx * dx);
                w[i] = (float) (w[i] - lr * dx);
            }
        }
    }

    // Adam with L2 decay (l2) or AdamW's decoupled decay (decoupled); never both.
    private static void adam(float[] w, float[] g, float[][] s, int n, long t, double lr,
                             double b1, double b2, double eps, double l2, double decoupled) {
        double c1 = 1 - Math.pow(b1, t);
        double c2 = 1 - Math.pow(b2, t);
        for (int i = 0; i < n; i++) {
            double wi = w[i] * (1 - lr * decoupled);
            double gi = g[i] + l2 * wi;
            double m = b1 * s[0][i] + (1 - b1) * gi;
            double v = b2 * s[1][i] + (1 - b2) * gi * gi;
            s[0][i] = (float) m;
            s[1][i] = (float) v;
            w[i] = (float) (wi - lr * (m / c1) / (Math.sqrt(v / c2) + eps));
        }
    }

}
