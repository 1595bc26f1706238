package io.batchwise.train;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Recommends an effective batch and its learning rate from a short probe run: memory gives the
 * largest micro-batch (the {@link MemoryPlanner}); the gradient noise scale B_simple measured while
 * the probe trains says how large an effective batch is still useful (McCandlish et al. 2018: it
 * estimates the critical batch, beyond which more samples per step buy few fewer steps).
 *
 * <pre>
 * Advisor.Result r = Advisor.builder(graph, backend).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(3e-3))
 *         .batch(32).memoryBudget(Budget.host(512L &lt;&lt; 20)).advise(train);
 * r.reasoning().forEach(System.out::println);
 * </pre>
 *
 * <p>The probe trains from the seed's initial weights with the given optimizer, its learning rate
 * held constant, at the given batch (the batch that learning rate was tuned for), each step measured
 * (a single-pass step is split into two halves, {@link Trainer.Builder#measureNoiseScale}). It stops
 * after {@code maxSteps} steps or {@code maxSeconds}, whichever comes first; bounded by steps alone it
 * is deterministic for a seed. The probe's weights are discarded.
 */
public final class Advisor {
    private Advisor() {
    }

    public static Builder builder(Graph graph, Backend backend) {
        return new Builder(graph, backend);
    }

    /**
     * The advice.
     *
     * @param trainSize             samples in the training set
     * @param memoryMicroBatch      the largest micro-batch that fits the memory budget (or the one given)
     * @param plannedByMemory       whether the planner chose it (false: given by the caller)
     * @param probeBatch            effective batch of the probe (also the base batch of the learning rate)
     * @param probeMicroBatch       the probe's largest pass (half the probe batch when its steps were split to measure)
     * @param probeSteps            optimizer steps the probe took
     * @param probeSeconds          its wall time
     * @param measurements          steps that measured the noise scale
     * @param noiseScale            B_simple at the probe's end (moving averages, see {@link NoiseScale}); NaN or
     *                              infinite when it could not be bounded
     * @param gradientNormSquared   the estimate of |G|^2 behind it
     * @param traceCovariance       the estimate of tr(Sigma) behind it
     * @param recommendedBatch      the effective batch to train with
     * @param recommendedMicroBatch the micro-batch for it: {@code min(memoryMicroBatch, recommendedBatch)}
     * @param accumulationSteps     {@code ceil(recommendedBatch / recommendedMicroBatch)}
     * @param baseLearningRate      the optimizer's learning rate, taken as tuned for {@code probeBatch}
     * @param learningRate          scaled to the recommended batch by the linear rule
     * @param warmupSteps           steps of linear warm-up to reach it (0: no scaling up, none needed)
     * @param reasoning             a few lines that explain the numbers
     */
    public record Result(int trainSize, int memoryMicroBatch, boolean plannedByMemory, int probeBatch, int probeMicroBatch,
                         long probeSteps, double probeSeconds, long measurements, double noiseScale, double gradientNormSquared,
                         double traceCovariance, int recommendedBatch, int recommendedMicroBatch, int accumulationSteps,
                         double baseLearningRate, double learningRate, long warmupSteps, List<String> reasoning) {
        public Result {
            reasoning = List.copyOf(reasoning);
        }
    }

    /**
     * The recommended effective batch for a measured {@code noiseScale}: B_simple rounded to the nearest
     * multiple of the micro-batch when it is at least one micro-batch (every pass full, k = B / b), else
     * to the nearest multiple of 8 (or whole sample below 8), within {@code [1, trainSize]}; 0 when
     * B_simple is not a positive finite number.
     */
    public static int recommend(double noiseScale, int microBatch, int trainSize) {
        if (!(noiseScale > 0) || Double.isInfinite(noiseScale)) {
            return 0;
        }
        if (noiseScale >= trainSize) {
            return trainSize;
        }
        long r;
        if (noiseScale >= microBatch) {
            r = Math.round(noiseScale / microBatch) * microBatch;
        } else if (noiseScale >= 8) {
            r = Math.round(noiseScale / 8) * 8;
        } else {
            r = Math.round(noiseScale);
        }
        return (int) Math.max(1, Math.min(trainSize, r));
    }

    /** Settings of the probe; {@link #advise} runs it. */
    /**
     * The probe's settings: the run's ({@link TrainingConfig.Builder}; the effective batch is the batch the optimizer's
     * learning rate was tuned for, the schedule is held constant and an adaptive batch ignored) and its length.
     */
    public static final class Builder extends TrainingConfig.Builder<Builder> {
        private final Graph graph;
        private final Backend backend;
        private long maxSteps = 200;
        private double maxSeconds = 60;

        private Builder(Graph graph, Backend backend) {
            this.graph = Objects.requireNonNull(graph, "graph");
            this.backend = Objects.requireNonNull(backend, "backend");
            noiseScaleDecay(0.98); // about the last 50 steps weigh: a short probe needs a longer memory than training
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** The probe's effective batch (at least 2): the batch the optimizer's learning rate was tuned for. */
        public Builder batch(int samples) {
            if (samples < 2) {
                throw new IllegalArgumentException("the probe batch must be at least 2 samples (two halves to measure), got " + samples);
            }
            return batch(BatchSize.mini(samples));
        }

        /** Probe length in optimizer steps (default 200). */
        public Builder maxSteps(long steps) {
            if (steps <= 0) {
                throw new IllegalArgumentException("the probe needs at least one step, got " + steps);
            }
            this.maxSteps = steps;
            return this;
        }

        /** Probe length in seconds (default 60); the probe stops at whichever bound comes first. */
        public Builder maxSeconds(double seconds) {
            if (!(seconds > 0)) {
                throw new IllegalArgumentException("the probe time must be positive, got " + seconds);
            }
            this.maxSeconds = seconds;
            return this;
        }

        /** Runs the probe on {@code train} and returns the advice. */
        public Result advise(Dataset train) {
            TrainingConfig c = build("Advisor", true);
            if (c.noiseScaleDecay() < 0) {
                throw new IllegalStateException("the advisor measures the noise scale: noiseScaleDecay is " + c.noiseScaleDecay());
            }
            Optimizer optimizer = c.optimizer();
            int microBatch = c.microBatch();
            Budget budget = c.budget();
            double decay = c.noiseScaleDecay();
            int n = train.size();
            if (n < 2) {
                throw new IllegalArgumentException("the probe needs at least 2 training samples, the dataset has " + n);
            }
            int memoryMicro = microBatch > 0 ? Math.min(microBatch, n)
                    : MemoryPlanner.plan(backend, graph, optimizer.stateSlots(), n, budget, c.precision()).microBatch();
            int probeBatch = c.batch().resolve(n);
            if (probeBatch < 2) {
                throw new IllegalArgumentException("the probe batch must be at least 2 samples (two halves to measure), got "
                        + probeBatch);
            }
            int probeMicro = Math.min(memoryMicro, probeBatch);

            Trainer.Builder tb = Trainer.builder(graph, backend).config(c).schedule(Schedule.constant())
                    .batch(BatchSize.mini(probeBatch)).microBatch(probeMicro).adaptiveBatch(null).measureNoiseScale(true);
            listeners().forEach(tb::listener);
            long t0 = System.nanoTime();
            long deadline = t0 + (long) (maxSeconds * 1e9);
            long steps;
            NoiseScale ns;
            try (Trainer t = tb.build()) {
                t.fit(train, Integer.MAX_VALUE, maxSteps, () -> System.nanoTime() >= deadline);
                steps = t.step();
                ns = t.noiseScale().orElseThrow();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            int passMicro = probeMicro < probeBatch ? probeMicro : (probeBatch + 1) / 2;
            if (ns.count() == 0) {
                throw new IllegalStateException("the probe took " + steps + " steps in " + String.format(Locale.ROOT, "%.1f", seconds)
                        + " s and measured nothing; give it more time");
            }
            double b = ns.simple();
            int rec = recommend(b, memoryMicro, n);
            boolean bounded = rec > 0;
            if (!bounded) {
                rec = probeBatch;
            }
            int recMicro = Math.min(memoryMicro, rec);
            int k = (rec + recMicro - 1) / recMicro;
            double baseLr = optimizer.lr();
            double lr = Schedule.linearScaling(baseLr, probeBatch, rec);
            long warmup = rec > probeBatch ? (n + rec - 1) / rec : 0;

            List<String> why = new ArrayList<>();
            why.add(String.format(Locale.ROOT, "memory: %s",
                    microBatch > 0 ? "micro-batch " + memoryMicro + " as given"
                            : "the largest micro-batch whose training step fits " + budget + " is " + memoryMicro + " (memory planner)"));
            why.add(String.format(Locale.ROOT, "probe: %d steps of batch %d (%s), %s lr %s held constant, %.1f s; %d measurements",
                    steps, probeBatch, probeMicro < probeBatch ? (probeBatch + probeMicro - 1) / probeMicro + " passes of up to "
                            + probeMicro : "split into 2 halves to measure", optimizer.name(), fmt(baseLr), seconds, ns.count()));
            why.add(String.format(Locale.ROOT, "noise scale: B_simple = tr(Sigma) / |G|^2 = %s / %s = %s (moving averages over about"
                            + " the last %.0f steps). It estimates the critical batch (McCandlish et al. 2018): below it a larger"
                            + " batch cuts the steps nearly in proportion; above it the extra samples per step are mostly wasted.",
                    fmt(ns.traceCovariance()), fmt(ns.gradientNormSquared()), fmt(b), 1 / (1 - decay)));
            if (!bounded) {
                why.add("recommend: no change (batch " + rec + "): B_simple is not a positive finite number, so the |G|^2 or"
                        + " tr(Sigma) estimate is still dominated by noise; probe longer (more steps) to bound it.");
            } else if (b >= memoryMicro) {
                why.add(String.format(Locale.ROOT, "recommend: effective batch %d = B_simple rounded to a multiple of the micro-batch"
                        + " %d, so %d full pass(es) per step%s.", rec, memoryMicro, k, rec == n ? " (capped at the training set)" : ""));
            } else {
                why.add(String.format(Locale.ROOT, "recommend: effective batch %d = B_simple rounded to a multiple of 8, one pass per"
                                + " step. Memory would allow %d, but the samples training needs grow as 1 + B / B_simple: %d would"
                                + " need about %.1fx those at B_simple for the same progress.", rec, memoryMicro, memoryMicro,
                        (1 + memoryMicro / b) / 2));
            }
            why.add(String.format(Locale.ROOT, "learning rate: %s x %d / %d = %s (linear scaling rule, Goyal et al. 2017)%s", fmt(baseLr),
                    rec, probeBatch, fmt(lr), warmup > 0 ? ", reached by a linear warm-up over the first " + warmup
                            + " steps (one epoch)" : ""));
            if (!(optimizer instanceof Optimizer.Sgd) && rec != probeBatch) {
                why.add(String.format(Locale.ROOT, "%s adapts its step per parameter: the linear rule can overshoot there; the"
                        + " square-root rule (Malladi et al. 2022) gives %s x sqrt(%d / %d) = %s.", optimizer.name(), fmt(baseLr), rec,
                        probeBatch, fmt(baseLr * Math.sqrt((double) rec / probeBatch))));
            }
            why.add("B_simple grows as the loss falls: this is the batch for the stage the probe saw; an adaptive batch"
                    + " (Trainer.Builder.adaptiveBatch, --adaptive-batch) follows it during training.");
            return new Result(n, memoryMicro, microBatch == 0, probeBatch, passMicro, steps, seconds, ns.count(), b,
                    ns.gradientNormSquared(), ns.traceCovariance(), rec, recMicro, k, baseLr, lr, warmup, why);
        }
    }

    /** Four significant digits, plain for ordinary magnitudes. */
    static String fmt(double v) {
        if (!Double.isFinite(v)) {
            return String.valueOf(v);
        }
        double a = Math.abs(v);
        return a != 0 && (a < 1e-3 || a >= 1e6) ? String.format(Locale.ROOT, "%.3e", v)
                : new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }
}
