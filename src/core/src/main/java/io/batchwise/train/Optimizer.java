package io.batchwise.train;

/**
 * An optimizer specification: immutable hyper-parameters. Each record's Javadoc gives its update
 * rule as {@code torch.optim} defines it; {@code t} counts steps from 1, {@code g} is the gradient
 * of the mean loss over the effective batch, {@code lr} comes from the {@link Schedule}.
 * The update runs in place over the backend's flat parameter, gradient and state buffers.
 */
public sealed interface Optimizer
        permits Optimizer.Sgd, Optimizer.Adam, Optimizer.AdamW, Optimizer.Adagrad, Optimizer.RmsProp, Optimizer.Adadelta {

    /** The base learning rate (schedules scale it). */
    double lr();

    /** Per-parameter state tensors this optimizer keeps (each the size of the parameters). */
    int stateSlots();

    /** Short name for reports, e.g. {@code adam}. */
    String name();

    /**
     * SGD with optional momentum, dampening, Nesterov and L2 weight decay:
     * <pre>
     * g = g + weightDecay * w
     * if momentum != 0:  b = (t == 1) ? g : momentum * b + (1 - dampening) * g
     *                    g = nesterov ? g + momentum * b : b
     * w = w - lr * g
     * </pre>
     */
    record Sgd(double lr, double momentum, double dampening, boolean nesterov, double weightDecay) implements Optimizer {
        public Sgd {
            check(lr >= 0 && momentum >= 0 && weightDecay >= 0, "SGD needs lr, momentum and weight decay >= 0");
            check(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and dampening 0");
        }

        public static Sgd plain(double lr) {
            return new Sgd(lr, 0, 0, false, 0);
        }

        public static Sgd momentum(double lr, double momentum) {
            return new Sgd(lr, momentum, 0, false, 0);
        }

        public static Sgd nesterov(double lr, double momentum) {
            return new Sgd(lr, momentum, 0, true, 0);
        }

        public int stateSlots() {
            return momentum == 0 ? 0 : 1;
        }

        public String name() {
            return nesterov ? "nesterov" : momentum != 0 ? "momentum" : "sgd";
        }
    }

    /**
     * Adam (Kingma and Ba) with L2 weight decay added to the gradient:
     * <pre>
     * g = g + weightDecay * w
     * m = beta1 * m + (1 - beta1) * g
     * v = beta2 * v + (1 - beta2) * g^2
     * w = w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
     * </pre>
     */
    record Adam(double lr, double beta1, double beta2, double eps, double weightDecay) implements Optimizer {
        public Adam {
            check(lr >= 0 && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0 && weightDecay >= 0,
                    "Adam needs lr >= 0, betas in [0, 1), eps >= 0, weight decay >= 0");
        }

        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8. */
        public static Adam of(double lr) {
            return new Adam(lr, 0.9, 0.999, 1e-8, 0);
        }

        public int stateSlots() {
            return 2;
        }

        public String name() {
            return "adam";
        }
    }

    /**
     * AdamW (Loshchilov and Hutter): decoupled weight decay, then Adam without L2:
     * <pre>
     * w = w * (1 - lr * weightDecay)
     * m = beta1 * m + (1 - beta1) * g
     * v = beta2 * v + (1 - beta2) * g^2
     * w = w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
     * </pre>
     */
    record AdamW(double lr, double beta1, double beta2, double eps, double weightDecay) implements Optimizer {
        public AdamW {
            check(lr >= 0 && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0 && weightDecay >= 0,
                    "AdamW needs lr >= 0, betas in [0, 1), eps >= 0, weight decay >= 0");
        }

        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
        public static AdamW of(double lr) {
            return new AdamW(lr, 0.9, 0.999, 1e-8, 0.01);
        }

        public int stateSlots() {
            return 2;
        }

        public String name() {
            return "adamw";
        }
    }

    /**
     * Adagrad (Duchi et al.):
     * <pre>
     * clr = lr / (1 + (t - 1) * lrDecay)
     * g = g + weightDecay * w
     * s = s + g^2                      (s starts at initialAccumulator)
     * w = w - clr * g / (sqrt(s) + eps)
     * </pre>
     */
    record Adagrad(double lr, double lrDecay, double weightDecay, double initialAccumulator, double eps) implements Optimizer {
        public Adagrad {
            check(lr >= 0 && lrDecay >= 0 && weightDecay >= 0 && initialAccumulator >= 0 && eps >= 0,
                    "Adagrad needs non-negative hyper-parameters");
        }

        /** PyTorch's defaults: no decay, accumulator 0, eps 1e-10. */
        public static Adagrad of(double lr) {
            return new Adagrad(lr, 0, 0, 0, 1e-10);
        }

        public int stateSlots() {
            return 1;
        }

        public String name() {
            return "adagrad";
        }
    }

    /**
     * RMSProp (Hinton), plain, with momentum, or centred:
     * <pre>
     * g = g + weightDecay * w
     * v = alpha * v + (1 - alpha) * g^2
     * centred:  a = alpha * a + (1 - alpha) * g;   d = v - a^2   else d = v
     * momentum > 0:  b = momentum * b + g / (sqrt(d) + eps);  w = w - lr * b
     * otherwise:     w = w - lr * g / (sqrt(d) + eps)
     * </pre>
     */
    record RmsProp(double lr, double alpha, double eps, double weightDecay, double momentum, boolean centered) implements Optimizer {
        public RmsProp {
            check(lr >= 0 && alpha >= 0 && alpha <= 1 && eps >= 0 && weightDecay >= 0 && momentum >= 0,
                    "RMSProp needs lr >= 0, alpha in [0, 1], eps, weight decay and momentum >= 0");
        }

        /** PyTorch's defaults: alpha 0.99, eps 1e-8. */
        public static RmsProp of(double lr) {
            return new RmsProp(lr, 0.99, 1e-8, 0, 0, false);
        }

        /** Slots: v, then b if momentum, then a if centred. */
        public int stateSlots() {
            return 1 + (momentum > 0 ? 1 : 0) + (centered ? 1 : 0);
        }

        public String name() {
            return "rmsprop";
        }
    }

    /**
     * Adadelta (Zeiler):
     * <pre>
     * g = g + weightDecay * w
     * v = rho * v + (1 - rho) * g^2
     * dx = sqrt(u + eps) / sqrt(v + eps) * g
     * u = rho * u + (1 - rho) * dx^2
     * w = w - lr * dx
     * </pre>
     */
    record Adadelta(double lr, double rho, double eps, double weightDecay) implements Optimizer {
        public Adadelta {
            check(lr >= 0 && rho >= 0 && rho <= 1 && eps >= 0 && weightDecay >= 0,
                    "Adadelta needs lr >= 0, rho in [0, 1], eps and weight decay >= 0");
        }

        /** PyTorch's defaults: lr 1.0, rho 0.9, eps 1e-6. */
        public static Adadelta of(double lr) {
            return new Adadelta(lr, 0.9, 1e-6, 0);
        }

        public int stateSlots() {
            return 2;
        }

        public String name() {
            return "adadelta";
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
