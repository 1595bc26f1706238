package io.batchwise.train;

import io.batchwise.backend.Precision;
import io.batchwise.loss.Loss;
import io.batchwise.plan.Budget;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The settings of a training run, immutable: what {@link Trainer}, {@link Advisor} and the Spark trainer share. Each is
 * built through a subclass of {@link Builder}, which holds every setting's setter, default and check once; a config can
 * be copied into another builder whole ({@link Builder#config}), e.g. the advisor's probe trains with the user's.
 */
public final class TrainingConfig {
    private final Loss loss;
    private final Optimizer optimizer;
    private final Schedule schedule;
    private final BatchSize batch;
    private final int microBatch; // 0: the memory planner chooses it from the budget
    private final Budget budget; // null: the micro-batch is given
    private final long seed;
    private final boolean shuffle;
    private final boolean dropLast;
    private final double clipNorm; // 0: no clipping
    private final boolean reportGradientNorm;
    private final BatchNormMode batchNorm;
    private final Precision precision;
    private final double noiseScaleDecay; // < 0: not measured
    private final boolean measureNoiseScale;
    private final int noiseScaleEvery;
    private final AdaptiveBatch adaptiveBatch; // null: fixed effective batch

    private TrainingConfig(Builder<?> b) {
        this.loss = b.loss;
        this.optimizer = b.optimizer;
        this.schedule = b.schedule;
        this.batch = b.batch;
        this.microBatch = b.microBatch;
        this.budget = b.budget;
        this.seed = b.seed;
        this.shuffle = b.shuffle;
        this.dropLast = b.dropLast;
        this.clipNorm = b.clipNorm;
        this.reportGradientNorm = b.reportGradientNorm;
        this.batchNorm = b.batchNorm;
        this.precision = b.precision;
        this.noiseScaleDecay = b.noiseScaleDecay;
        this.measureNoiseScale = b.measureNoiseScale;
        this.noiseScaleEvery = b.noiseScaleEvery;
        this.adaptiveBatch = b.adaptiveBatch;
    }

    public Loss loss() {
        return loss;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public Schedule schedule() {
        return schedule;
    }

    /** The effective batch: samples per optimizer step. */
    public BatchSize batch() {
        return batch;
    }

    /** Samples per forward/backward pass; 0 when the memory planner chooses it from {@link #budget()}. */
    public int microBatch() {
        return microBatch;
    }

    /** The memory a training step may use; null when the micro-batch is given. */
    public Budget budget() {
        return budget;
    }

    public long seed() {
        return seed;
    }

    public boolean shuffle() {
        return shuffle;
    }

    public boolean dropLast() {
        return dropLast;
    }

    /** The global L2 norm the gradient is clipped to; 0: no clipping. */
    public double clipNorm() {
        return clipNorm;
    }

    public boolean reportGradientNorm() {
        return reportGradientNorm;
    }

    public BatchNormMode batchNorm() {
        return batchNorm;
    }

    public Precision precision() {
        return precision;
    }

    /** Decay of the noise scale's moving averages; negative: not measured. */
    public double noiseScaleDecay() {
        return noiseScaleDecay;
    }

    public boolean measureNoiseScale() {
        return measureNoiseScale;
    }

    public int noiseScaleEvery() {
        return noiseScaleEvery;
    }

    /** The adaptive-batch policy; null when the effective batch is fixed. */
    public AdaptiveBatch adaptiveBatch() {
        return adaptiveBatch;
    }

    /** Whether single-pass steps are split in two to measure the noise scale (asked for, or an adaptive batch needs it). */
    boolean splitsSinglePass() {
        return measureNoiseScale || adaptiveBatch != null;
    }

    /**
     * The settings of every training entry point. {@code B} is the concrete builder, so each setter returns it and
     * calls chain across the shared and the entry point's own settings.
     */
    public abstract static class Builder<B extends Builder<B>> {
        private Loss loss;
        private Optimizer optimizer;
        private Schedule schedule = Schedule.constant();
        private BatchSize batch;
        private int microBatch;
        private Budget budget;
        private long seed = 1;
        private boolean shuffle = true;
        private boolean dropLast;
        private double clipNorm;
        private boolean reportGradientNorm;
        private BatchNormMode batchNorm = BatchNormMode.GHOST;
        private Precision precision = Precision.FLOAT32;
        private double noiseScaleDecay = 0.95;
        private boolean measureNoiseScale;
        private int noiseScaleEvery = 1;
        private AdaptiveBatch adaptiveBatch;
        private final List<TrainingListener> listeners = new ArrayList<>();

        protected Builder() {
        }

        protected abstract B self();

        /** Takes every setting of {@code c} (listeners excepted), replacing the ones set so far. */
        public B config(TrainingConfig c) {
            loss = c.loss;
            optimizer = c.optimizer;
            schedule = c.schedule;
            batch = c.batch;
            microBatch = c.microBatch;
            budget = c.budget;
            seed = c.seed;
            shuffle = c.shuffle;
            dropLast = c.dropLast;
            clipNorm = c.clipNorm;
            reportGradientNorm = c.reportGradientNorm;
            batchNorm = c.batchNorm;
            precision = c.precision;
            noiseScaleDecay = c.noiseScaleDecay;
            measureNoiseScale = c.measureNoiseScale;
            noiseScaleEvery = c.noiseScaleEvery;
            adaptiveBatch = c.adaptiveBatch;
            return self();
        }

        public B loss(Loss l) {
            this.loss = Objects.requireNonNull(l, "loss");
            return self();
        }

        public B optimizer(Optimizer o) {
            this.optimizer = Objects.requireNonNull(o, "optimizer");
            return self();
        }

        public B schedule(Schedule s) {
            this.schedule = Objects.requireNonNull(s, "schedule");
            return self();
        }

        /** The effective batch: {@link BatchSize#full()}, {@link BatchSize#mini}, {@link BatchSize#stochastic()}. */
        public B batch(BatchSize b) {
            this.batch = Objects.requireNonNull(b, "batch");
            return self();
        }

        /** Samples per forward/backward pass. */
        public B microBatch(int b) {
            if (b <= 0) {
                throw new IllegalArgumentException("micro-batch must be positive, got " + b);
            }
            this.microBatch = b;
            return self();
        }

        /**
         * Let the memory planner choose the micro-batch: the largest that fits {@code b} (e.g.
         * {@link Budget#host(long)}), decided from the plans before anything runs.
         */
        public B memoryBudget(Budget b) {
            this.budget = Objects.requireNonNull(b, "budget");
            return self();
        }

        public B seed(long s) {
            this.seed = s;
            return self();
        }

        public B shuffle(boolean s) {
            this.shuffle = s;
            return self();
        }

        /** Drop the last, shorter effective batch of each epoch (default: keep it, normalised exactly). */
        public B dropLast(boolean d) {
            this.dropLast = d;
            return self();
        }

        /**
         * BatchNorm statistics under accumulation: {@link BatchNormMode#GHOST} (default, each micro-batch's) or
         * {@link BatchNormMode#EXACT} (the effective batch's, at the cost of extra sweeps).
         */
        public B batchNorm(BatchNormMode mode) {
            this.batchNorm = Objects.requireNonNull(mode, "mode");
            return self();
        }

        /**
         * The numeric policy: {@link Precision#FLOAT32} (default) or {@link Precision#BF16_MIXED} (bf16 activations
         * and kernel weight copies; float32 master weights, gradients, statistics, losses, optimizer state and
         * accumulation). The memory planner counts the bytes of the chosen policy. A backend without native bf16
         * refuses BF16_MIXED when the first plan is compiled.
         */
        public B precision(Precision p) {
            this.precision = Objects.requireNonNull(p, "precision");
            return self();
        }

        /** Clip the gradient to this global L2 norm; 0 (default) disables clipping. */
        public B clipGradientNorm(double maxNorm) {
            if (!(maxNorm >= 0)) {
                throw new IllegalArgumentException("max gradient norm must be >= 0, got " + maxNorm);
            }
            this.clipNorm = maxNorm;
            return self();
        }

        /**
         * Report the gradient's global L2 norm in {@link StepMetrics#gradientNorm()} on every step (default
         * off: NaN on steps where neither clipping nor the noise-scale measurement computes it). Costs one
         * pass over the gradients per step: about 0.04 ms for 235k parameters on one CPU core, a fifth of a
         * stochastic (b = 1) MLP step, under 2% from b = 32.
         */
        public B reportGradientNorm(boolean report) {
            this.reportGradientNorm = report;
            return self();
        }

        /**
         * Decay of the moving averages behind the gradient noise scale (default 0.95); a negative value
         * switches the measurement off. It costs one pass over the gradients per step with k >= 2.
         */
        public B noiseScaleDecay(double decay) {
            if (decay >= 0) {
                new NoiseScale(decay); // checks the range
            }
            this.noiseScaleDecay = decay;
            return self();
        }

        /**
         * Also measure the noise scale on steps that fit in one micro-batch, by running each as two
         * micro-batches of half the samples (exact, since accumulation is; BatchNorm then uses the
         * halves' statistics). Costs the throughput difference between one pass and two half passes.
         */
        public B measureNoiseScale(boolean always) {
            this.measureNoiseScale = always;
            return self();
        }

        /**
         * Measure the noise scale on every {@code n}-th step only (steps 1, 1 + n, ...; default 1, every
         * step): divides its cost (one more pass over the gradients, or the split of a single-pass step)
         * by {@code n}. The estimate stays unbiased; its moving averages then span {@code n} times the steps.
         */
        public B noiseScaleEvery(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("noise-scale interval must be at least 1 step, got " + n);
            }
            this.noiseScaleEvery = n;
            return self();
        }

        /**
         * Grow the effective batch during training toward the measured noise scale, keeping the
         * micro-batch and raising the accumulation steps (see {@link AdaptiveBatch} for the rule and
         * the learning rate); {@code null} (default) keeps it fixed. With a memory budget the planner
         * plans the micro-batch for the largest batch it may grow to. Measures the noise scale on
         * every step, or every {@link #noiseScaleEvery} steps (splitting single-pass steps as
         * {@link #measureNoiseScale} does).
         */
        public B adaptiveBatch(AdaptiveBatch policy) {
            this.adaptiveBatch = policy;
            return self();
        }

        /** Receives the run's steps, epochs and checkpoints (e.g. for a progress bar or a log). */
        public B listener(TrainingListener l) {
            listeners.add(Objects.requireNonNull(l, "listener"));
            return self();
        }

        /** The listeners added so far, in order. */
        protected final List<TrainingListener> listeners() {
            return List.copyOf(listeners);
        }

        /**
         * The settings, checked: {@code who} (e.g. "Trainer") is named in the error that lists every missing one.
         * {@code planned}: the entry point runs passes of its own, so it needs a micro-batch or a memory budget.
         */
        protected final TrainingConfig build(String who, boolean planned) {
            List<String> missing = new ArrayList<>();
            if (loss == null) {
                missing.add("loss");
            }
            if (optimizer == null) {
                missing.add("optimizer");
            }
            if (batch == null) {
                missing.add("batch");
            }
            if (planned && microBatch == 0 && budget == null) {
                missing.add("microBatch or memoryBudget");
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException(who + " needs " + String.join(", ", missing));
            }
            if (adaptiveBatch != null && noiseScaleDecay < 0) {
                throw new IllegalStateException("an adaptive batch needs the noise scale: noiseScaleDecay is " + noiseScaleDecay);
            }
            return new TrainingConfig(this);
        }
    }
}
