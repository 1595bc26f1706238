package io.batchwise.train;

/**
 * A learning-rate schedule: the factor applied to the optimizer's base learning rate at
 * optimizer step {@code t} (counted from 0). Immutable; the trainer stores only {@code t}.
 */
public sealed interface Schedule {

    /** Multiplier of the base learning rate at step {@code t >= 0}. */
    double factor(long t);

    static Schedule constant() {
        return new Constant();
    }

    /** Multiply by {@code gamma} every {@code stepSize} steps. */
    static Schedule step(long stepSize, double gamma) {
        return new Step(stepSize, gamma);
    }

    /** Multiply by {@code gamma} every step. */
    static Schedule exponential(double gamma) {
        return new Exponential(gamma);
    }

    /** Cosine annealing from 1 to {@code minFactor} over {@code totalSteps}, then flat. */
    static Schedule cosine(long totalSteps, double minFactor) {
        return new Cosine(totalSteps, minFactor);
    }

    /** Linear warm-up from {@code 1 / warmupSteps} to 1 over {@code warmupSteps}, then {@code after} (shifted). */
    static Schedule warmup(long warmupSteps, Schedule after) {
        return new Warmup(warmupSteps, after);
    }

    /**
     * The linear scaling rule (Goyal et al. 2017): a learning rate tuned at {@code baseBatch} is
     * multiplied by {@code batch / baseBatch} for an effective batch of {@code batch}; use it with a
     * {@link #warmup} of a few epochs when the factor is large.
     */
    static double linearScaling(double baseLr, int baseBatch, long batch) {
        if (baseBatch <= 0 || batch <= 0) {
            throw new IllegalArgumentException("batch sizes must be positive, got " + baseBatch + " and " + batch);
        }
        return baseLr * batch / baseBatch;
    }

    record Constant() implements Schedule {
        public double factor(long t) {
            return 1;
        }
    }

    record Step(long stepSize, double gamma) implements Schedule {
        public Step {
            if (stepSize <= 0 || gamma <= 0) {
                throw new IllegalArgumentException("step schedule needs stepSize > 0 and gamma > 0");
            }
        }

        public double factor(long t) {
            return Math.pow(gamma, t / stepSize);
        }
    }

    record Exponential(double gamma) implements Schedule {
        public Exponential {
            if (gamma <= 0) {
                throw new IllegalArgumentException("exponential schedule needs gamma > 0");
            }
        }

        public double factor(long t) {
            return Math.pow(gamma, t);
        }
    }

    record Cosine(long totalSteps, double minFactor) implements Schedule {
        public Cosine {
            if (totalSteps <= 0 || minFactor < 0 || minFactor > 1) {
                throw new IllegalArgumentException("cosine schedule needs totalSteps > 0 and minFactor in [0, 1]");
            }
        }

        public double factor(long t) {
            double p = Math.min(1.0, (double) t / totalSteps);
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * p));
        }
    }

    record Warmup(long warmupSteps, Schedule after) implements Schedule {
        public Warmup {
            if (warmupSteps <= 0 || after == null) {
                throw new IllegalArgumentException("warm-up needs warmupSteps > 0 and a schedule after it");
            }
        }

        public double factor(long t) {
            return t < warmupSteps ? (t + 1.0) / warmupSteps : after.factor(t - warmupSteps);
        }
    }
}
