package io.batchwise.backend;

/**
 * One step of an adaptive optimizer rule, its per-step scalars already rounded to float32 (bias corrections,
 * the decayed learning rate): what {@link VectorOps#update} runs over flat weights {@code w}, gradients
 * {@code g} and {@link #slots()} state tensors in one pass per element. The arithmetic per element is the
 * float32 loop of the trainer's host path, operation for operation (each rounded, none fused), so a backend
 * that rounds as Java does gives the host's bits. Decaying state goes through {@code (x + FLUSH) - FLUSH}
 * ({@link VectorOps#FLUSH}): never subnormal.
 */
public sealed interface UpdateRule {

    /** State tensors the rule reads and writes, in the order its record names them. */
    int slots();

    /**
     * Adam with L2 decay, or AdamW's decoupled decay; slots m, v:
     * {@code w' = w keep; g' = g + decay w'; m = (beta1 m + a1 g' + F) - F; v = (beta2 v + a2 g' g' + F) - F;
     * w = w' - stepSize m / (sqrt(v) invSqrtC2 + eps)}, with {@code a1 = 1 - beta1}, {@code a2 = 1 - beta2},
     * {@code stepSize = lr / (1 - beta1^t)}, {@code invSqrtC2 = 1 / sqrt(1 - beta2^t)}, {@code keep = 1 - lr wd}
     * (AdamW; 1 for Adam) and {@code decay = wd} (Adam; 0 for AdamW).
     */
    record Adam(float beta1, float beta2, float a1, float a2, float stepSize, float invSqrtC2, float eps, float keep,
                float decay) implements UpdateRule {
        @Override
        public int slots() {
            return 2;
        }
    }

    /**
     * Adagrad; slot sum: {@code g' = g + wd w; sum = (first ? initial : sum) + g' g'; w = w - lr g' / (sqrt(sum) + eps)},
     * {@code lr} already decayed; {@code first} at step 1, where the accumulator starts from {@code initial}.
     */
    record Adagrad(float lr, float weightDecay, float eps, boolean first, float initial) implements UpdateRule {
        @Override
        public int slots() {
            return 1;
        }
    }

    /**
     * RMSprop; slots v, then buf (with momentum), then a (centred):
     * {@code g' = g + wd w; v = (alpha v + a1 g' g' + F) - F}; centred {@code a = (alpha a + a1 g' + F) - F},
     * {@code d = v - a a}, else {@code d = v}; {@code step = g' / (sqrt(d) + eps)}; with momentum
     * {@code buf = (mu buf + step + F) - F, step = buf}; {@code w = w - lr step}.
     */
    record RmsProp(float weightDecay, float alpha, float a1, float eps, float momentum, float lr, boolean withMomentum,
                   boolean centered) implements UpdateRule {
        @Override
        public int slots() {
            return 1 + (withMomentum ? 1 : 0) + (centered ? 1 : 0);
        }
    }

    /**
     * Adadelta; slots v, u: {@code g' = g + wd w; v = (rho v + r1 g' g' + F) - F;
     * dx = sqrt(u + eps) / sqrt(v + eps) g'; u = (rho u + r1 dx dx + F) - F; w = w - lr dx}, {@code r1 = 1 - rho}.
     */
    record Adadelta(float weightDecay, float rho, float r1, float eps, float lr) implements UpdateRule {
        @Override
        public int slots() {
            return 2;
        }
    }
}
