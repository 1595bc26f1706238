package io.batchwise.train;

import io.batchwise.backend.HostTensor;
import io.batchwise.backend.Tensor;

/**
 * Applies an {@link Optimizer}'s rule in place over host-resident flat buffers: parameters
 * {@code w}, gradients {@code g} and the optimizer's state slots, all of {@code n} elements.
 * Arithmetic in float64, stored in the tensors' type. One pass per step, no copies.
 */
final class Updater {
    private Updater() {
    }

    static HostTensor host(Tensor t, String what) {
        if (t instanceof HostTensor h) {
            return h;
        }
        throw new IllegalStateException(what + " lives in device memory (" + t.getClass().getSimpleName()
                + "); this backend must provide its own optimizer kernels");
    }

    /** One update at step {@code t} (from 1) with learning rate {@code lr}. */
    static void step(Optimizer opt, HostTensor w, HostTensor g, HostTensor[] s, long n, long t, double lr) {
        if (opt instanceof Optimizer.Sgd o) {
            for (long i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                if (o.momentum() != 0) {
                    double b = t == 1 ? gi : o.momentum() * s[0].get(i) + (1 - o.dampening()) * gi;
                    s[0].set(i, b);
                    gi = o.nesterov() ? gi + o.momentum() * b : b;
                }
                w.set(i, w.get(i) - lr * gi);
            }
        } else if (opt instanceof Optimizer.Adam o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), o.weightDecay(), 0);
        } else if (opt instanceof Optimizer.AdamW o) {
            adam(w, g, s, n, t, lr, o.beta1(), o.beta2(), o.eps(), 0, o.weightDecay());
        } else if (opt instanceof Optimizer.Adagrad o) {
            double clr = lr / (1 + (t - 1) * o.lrDecay());
            for (long i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                double acc = (t == 1 ? o.initialAccumulator() : s[0].get(i)) + gi * gi;
                s[0].set(i, acc);
                w.set(i, w.get(i) - clr * gi / (Math.sqrt(acc) + o.eps()));
            }
        } else if (opt instanceof Optimizer.RmsProp o) {
            int centredSlot = o.momentum() > 0 ? 2 : 1;
            for (long i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                double v = o.alpha() * s[0].get(i) + (1 - o.alpha()) * gi * gi;
                s[0].set(i, v);
                double d = v;
                if (o.centered()) {
                    double a = o.alpha() * s[centredSlot].get(i) + (1 - o.alpha()) * gi;
                    s[centredSlot].set(i, a);
                    d = v - a * a;
                }
                double step = gi / (Math.sqrt(d) + o.eps());
                if (o.momentum() > 0) {
                    step = o.momentum() * s[1].get(i) + step;
                    s[1].set(i, step);
                }
                w.set(i, w.get(i) - lr * step);
            }
        } else if (opt instanceof Optimizer.Adadelta o) {
            for (long i = 0; i < n; i++) {
                double gi = g.get(i) + o.weightDecay() * w.get(i);
                double v = o.rho() * s[0].get(i) + (1 - o.rho()) * gi * gi;
                s[0].set(i, v);
                double u = s[1].get(i);
                double dx = Math.sqrt(u + o.eps()) / Math.sqrt(v + o.eps()) * gi;
                s[1].set(i, o.rho() * u + (1 - o.rho()) * dx * dx);
                w.set(i, w.get(i) - lr * dx);
            }
        }
    }

    // Adam with L2 decay (l2) or AdamW's decoupled decay (decoupled); never both.
    private static void adam(HostTensor w, HostTensor g, HostTensor[] s, long n, long t, double lr,
                             double b1, double b2, double eps, double l2, double decoupled) {
        double c1 = 1 - Math.pow(b1, t);
        double c2 = 1 - Math.pow(b2, t);
        for (long i = 0; i < n; i++) {
            double wi = w.get(i) * (1 - lr * decoupled);
            double gi = g.get(i) + l2 * wi;
            double m = b1 * s[0].get(i) + (1 - b1) * gi;
            double v = b2 * s[1].get(i) + (1 - b2) * gi * gi;
            s[0].set(i, m);
            s[1].set(i, v);
            w.set(i, wi - lr * (m / c1) / (Math.sqrt(v / c2) + eps));
        }
    }

    /** Sum of squares of the first {@code n} elements. */
    static double squaredNorm(HostTensor g, long n) {
        double s = 0;
        for (long i = 0; i < n; i++) {
            double v = g.get(i);
            s += v * v;
        }
        return s;
    }

    static void scale(HostTensor g, long n, double factor) {
        for (long i = 0; i < n; i++) {
            g.set(i, g.get(i) * factor);
        }
    }
}
