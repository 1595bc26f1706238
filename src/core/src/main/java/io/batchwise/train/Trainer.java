package io.batchwise.train;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Precision;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.LossResult;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.spi.GradientSource;
import io.batchwise.spi.StepGradients;
import io.batchwise.spi.StepRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a graph with an exact effective batch. Each optimizer step takes an effective batch of
 * {@code B} samples in {@code k = ceil(B / b)} micro-batches of at most {@code b}: every
 * micro-batch's loss is a sum scaled once by {@code 1 / (terms in the effective batch)}, the
 * first backward overwrites the gradients and later ones add, so the step equals one step on the
 * whole batch (a short last micro-batch or effective batch included). Dropout masks are keyed by
 * a sample's position in the effective batch, so they do not depend on the split.
 *
 * <p>BatchNorm normalises with the statistics of each micro-batch ("ghost" batch norm); when
 * {@code k > 1} that differs from one big batch, and {@link #report(int)} says so.
 *
 * <p>Gradient noise scale: every step with {@code k >= 2} also measures B_simple from the first
 * micro-batch's gradient and the accumulated one ({@link NoiseScale}); {@link Builder#measureNoiseScale}
 * measures it on single-pass steps too, by splitting them into two halves. {@link Builder#adaptiveBatch}
 * grows the effective batch toward it during training ({@link AdaptiveBatch}).
 *
 * <p>Life cycle: {@link Builder#build()} allocates parameters (initialised from the seed) and
 * optimizer state on the backend; executors per micro-batch size are compiled on first use and
 * reused; {@link #close()} frees them all. Not thread-safe.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private final Graph graph;
    private final Backend backend;
    private final TrainingConfig config;
    private final List<TrainingListener> listeners;
    private final CheckpointPolicy checkpoints; // null: the caller saves
    private final GradientSource source; // null: this trainer's own executors compute the gradients
    private final StepRunner runner;
    private final EpochOrder epochOrder;
    private volatile boolean stopRequested;
    private long lastCheckpointStep = -1; // -1: none written or restored in this process yet
    private long lastCheckpointNanos = System.nanoTime();

    // Position of the run: everything a resume needs besides the buffers.
    private long step;
    private int epoch;
    private int offsetInEpoch; // samples of this epoch's order already trained on
    private int legacyBatchInEpoch = -1; // from a version-1 checkpoint, turned into an offset once the dataset is known
    private long samplesSeen;
    // Adaptive batch: the current and initial effective batch (0 until the first fit), the step of the last change.
    private int currentBatch;
    private int initialBatch;
    private long lastBatchChange;

    private Trainer(Builder b, TrainingConfig config) {
        this.graph = b.graph;
        this.backend = b.backend;
        this.config = config;
        this.listeners = b.listeners();
        this.source = b.source;
        this.checkpoints = b.checkpoints;
        this.epochOrder = new EpochOrder(config.seed(), config.shuffle());
        // A source gives the summed gradient only, not the first micro-batch's: no noise-scale sample.
        this.runner = new StepRunner(graph, backend, config, config.noiseScaleDecay() >= 0 && source == null);
    }

    public static Builder builder(Graph graph, Backend backend) {
        return new Builder(graph, backend);
    }

    public Parameters parameters() {
        return runner.parameters();
    }

    /** The run's settings. */
    public TrainingConfig config() {
        return config;
    }

    public Graph graph() {
        return graph;
    }

    public Backend backend() {
        return backend;
    }

    /** Samples per pass: the given micro-batch, or the planner's (0 until it has planned), halved by allocation failures. */
    public int microBatch() {
        return runner.microBatch();
    }

    /** The numeric policy of every plan this trainer compiles (float32 master weights and optimizer state either way). */
    public Precision precision() {
        return config.precision();
    }

    /**
     * The gradient noise scale measured from this run's micro-batch and effective-batch gradients
     * (steps with at least two micro-batches add a measurement); empty when switched off.
     */
    public java.util.Optional<NoiseScale> noiseScale() {
        return java.util.Optional.ofNullable(runner.noiseScale());
    }

    /** Optimizer steps taken so far. */
    public long step() {
        return step;
    }

    /** Samples trained on so far in the run. */
    public long samplesSeen() {
        return samplesSeen;
    }

    /** The adaptive-batch policy; empty when the effective batch is fixed. */
    public java.util.Optional<AdaptiveBatch> adaptiveBatch() {
        return java.util.Optional.ofNullable(config.adaptiveBatch());
    }

    public int epoch() {
        return epoch;
    }

    /**
     * Effective batch for a training set of {@code datasetSize} samples: the one the next step takes
     * (with an {@link AdaptiveBatch}, the current one, which grows as training runs).
     */
    public int effectiveBatch(int datasetSize) {
        return config.adaptiveBatch() != null && currentBatch > 0 ? Math.min(currentBatch, datasetSize)
                : config.batch().resolve(datasetSize);
    }

    /** The batch the memory planner plans for: the effective batch, or the largest it may grow to. */
    private int planningBatch(int datasetSize) {
        AdaptiveBatch adaptive = config.adaptiveBatch();
        return adaptive != null ? Math.max(effectiveBatch(datasetSize), Math.min(adaptive.maxBatch(), datasetSize))
                : effectiveBatch(datasetSize);
    }

    /**
     * The memory planner's decision for a training set of {@code datasetSize} samples, made on first
     * use when the trainer was built with a {@linkplain Builder#memoryBudget budget}; empty when the
     * micro-batch was given explicitly.
     */
    public java.util.Optional<MemoryPlanner.Decision> plan(int datasetSize) {
        runner.plan(planningBatch(datasetSize));
        return java.util.Optional.ofNullable(runner.decision());
    }

    /** Micro-batches per full effective batch: {@code k = ceil(B / b)}. */
    public int accumulationSteps(int datasetSize) {
        int big = effectiveBatch(datasetSize);
        runner.plan(planningBatch(datasetSize));
        return (big + runner.microBatch() - 1) / runner.microBatch();
    }

    /** A few lines on how this trainer splits and normalises its batches. */
    public String report(int datasetSize) {
        runner.plan(planningBatch(datasetSize));
        return TrainingReport.describe(config, graph, effectiveBatch(datasetSize), runner.microBatch(), datasetSize,
                runner.noiseScale() != null, runner.hasBatchNorm());
    }

    /**
     * Trains until {@code epochs} epochs are complete or {@code maxSteps} optimizer steps have been
     * taken in total, whichever comes first; resumes mid-epoch after {@link #restore}.
     */
    public void fit(Dataset data, int epochs, long maxSteps) {
        fit(data, epochs, maxSteps, null);
    }

    /**
     * {@link #fit(Dataset, int, long)} that also stops (between steps) once {@code stop} says so or
     * {@link #requestStop()} was called; with a {@link CheckpointPolicy} a stop writes a checkpoint.
     */
    void fit(Dataset data, int epochs, long maxSteps, java.util.function.BooleanSupplier stop) {
        checkData(data);
        int n = data.size();
        start(n);
        if (source == null) {
            runner.plan(planningBatch(n));
        }
        if (epoch < epochs && step < maxSteps && source == null) {
            // Planned and bound here, not in the first step's time.
            runner.prepare(effectiveBatch(n), Math.min(effectiveBatch(n), n - offsetInEpoch), step);
        }
        while (epoch < epochs && step < maxSteps) {
            int[] order = epochOrder.of(data, epoch);
            LossResult sum = LossResult.ZERO;
            while (!epochDone(n) && step < maxSteps && !stopping(stop)) {
                int count = Math.min(effectiveBatch(n), n - offsetInEpoch);
                StepMetrics m = trainBatch(data, order, offsetInEpoch, count);
                sum = sum.plus(new LossResult(m.loss() * m.batch(), m.batch(), m.batch(), Math.round(m.accuracy() * m.batch())));
                offsetInEpoch += count;
                adapt(n);
                if (checkpoints != null && checkpoints.due(step - Math.max(0, lastCheckpointStep),
                        System.nanoTime() - lastCheckpointNanos)) {
                    checkpointUnchecked();
                }
            }
            if (!epochDone(n) || stopping(stop)) {
                // Stopped by maxSteps or a stop request; a stop at an epoch's end leaves the end (listeners, the
                // epoch count) to the resumed run, so a caller's epoch-end work is never skipped.
                if (stopping(stop) && checkpoints != null && step != lastCheckpointStep) {
                    checkpointUnchecked();
                }
                return;
            }
            NoiseScale noiseScale = runner.noiseScale();
            EpochMetrics em = new EpochMetrics(epoch, step, samplesSeen, effectiveBatch(n), runner.microBatch(), sum.mean(),
                    sum.accuracy(), noiseScale == null ? Double.NaN : noiseScale.simple(), noiseScale == null ? 0 : noiseScale.count());
            for (TrainingListener l : listeners) {
                l.onEpoch(epoch, sum.mean(), sum.accuracy());
                l.onEpochEnd(em);
            }
            epoch++;
            offsetInEpoch = 0;
            if (checkpoints != null && checkpoints.atEpochEnd()) {
                checkpointUnchecked();
            }
        }
    }

    private boolean stopping(java.util.function.BooleanSupplier stop) {
        return stopRequested || (stop != null && stop.getAsBoolean());
    }

    /**
     * Asks {@code fit} to stop after the optimizer step in progress (thread-safe; e.g. from a signal
     * handler). With a {@link CheckpointPolicy} it writes a checkpoint before it returns; {@code fit}
     * called again returns at once.
     */
    public void requestStop() {
        stopRequested = true;
    }

    /** Whether {@link #requestStop()} was called. */
    public boolean stopRequested() {
        return stopRequested;
    }

    /**
     * Writes a checkpoint as the {@link CheckpointPolicy} says: listeners hear {@link
     * TrainingListener#beforeCheckpoint} first (so logs covering the step reach the disk before it), the
     * file is replaced atomically, and with {@code keep > 1} the older copies beyond {@code keep} are removed.
     */
    public void checkpoint() throws IOException {
        if (checkpoints == null) {
            throw new IllegalStateException("no checkpoint policy: build the trainer with checkpoints(...), or call save(path)");
        }
        for (TrainingListener l : listeners) {
            l.beforeCheckpoint(step);
        }
        Path file = checkpoints.file();
        long t0 = System.nanoTime();
        save(file);
        if (LOG.isDebugEnabled()) {
            LOG.debug("checkpoint at step {}: {} bytes in {} ms", step, java.nio.file.Files.size(file),
                    String.format(java.util.Locale.ROOT, "%.2f", (System.nanoTime() - t0) / 1e6));
        }
        if (checkpoints.keep() > 1) {
            Path kept = checkpoints.kept(step);
            java.nio.file.Files.deleteIfExists(kept);
            try {
                java.nio.file.Files.createLink(kept, file);
            } catch (UnsupportedOperationException | IOException e) {
                java.nio.file.Files.copy(file, kept); // a file system without hard links
            }
            checkpoints.prune();
        }
        lastCheckpointStep = step;
        lastCheckpointNanos = System.nanoTime();
    }

    private void checkpointUnchecked() {
        try {
            checkpoint();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write the checkpoint " + checkpoints.file() + ": " + e.getMessage(), e);
        }
    }

    /** Whether this epoch's samples are used up (with drop-last: fewer left than one effective batch). */
    private boolean epochDone(int n) {
        int remaining = n - offsetInEpoch;
        return remaining <= 0 || (config.dropLast() && remaining < effectiveBatch(n));
    }

    /** Settles what depends on the dataset size: the adaptive batch's start, a version-1 checkpoint's position. */
    private void start(int n) {
        if (legacyBatchInEpoch >= 0) {
            offsetInEpoch = (int) Math.min(n, (long) legacyBatchInEpoch * config.batch().resolve(n));
            legacyBatchInEpoch = -1;
        }
        if (config.adaptiveBatch() != null && currentBatch == 0) {
            currentBatch = config.batch().resolve(n);
            initialBatch = currentBatch;
            lastBatchChange = step;
        }
    }

    /** After a step: grows the effective batch when the {@link AdaptiveBatch} rule says so. */
    private void adapt(int n) {
        AdaptiveBatch adaptive = config.adaptiveBatch();
        if (adaptive == null || runner.noiseScale().count() == 0 || step - lastBatchChange < adaptive.interval()) {
            return;
        }
        int microBatch = runner.microBatch();
        int limit = Math.max(1, Math.min(adaptive.maxBatch(), n));
        double b = runner.noiseScale().simple();
        int next = adaptive.next(currentBatch, microBatch, b, limit);
        if (next == currentBatch) {
            return;
        }
        BatchChange c = new BatchChange(step, epoch, samplesSeen, currentBatch, next, microBatch, (next + microBatch - 1) / microBatch, b);
        currentBatch = next;
        lastBatchChange = step;
        LOG.info(c.describe());
        for (TrainingListener l : listeners) {
            l.onBatchChange(c);
        }
    }

    /**
     * One optimizer step on the samples {@code indices[from..from+count)} as one effective batch.
     *
     * <p>If an allocation fails during the step ({@link DeviceOutOfMemoryException}), the trainer frees
     * its executors, restores the BatchNorm state, halves the micro-batch (so doubles the accumulation
     * steps) and redoes the effective batch from its start: the first micro-batch overwrites the
     * gradients, so nothing is lost or counted twice, and the effective batch is unchanged.
     */
    public StepMetrics trainBatch(Dataset data, int[] indices, int from, int count) {
        checkData(data);
        double scale = 1.0 / (count * (double) config.loss().termsPerSample(graph.output().outputShape()));
        long stepSeed = mix(config.seed() ^ mix(step + 1));
        StepRunner.Accumulated a;
        long t0;
        if (source != null) { // the source's workers plan, retry and restore on their side
            t0 = System.nanoTime();
            StepGradients g = source.accumulate(new StepRequest(step + 1, epoch, indices, from, count, scale, stepSeed),
                    runner.parameters());
            a = new StepRunner.Accumulated(g.loss(), g.passes(), 0, 0);
        } else {
            runner.plan(count);
            t0 = System.nanoTime();
            boolean measure = runner.noiseScale() != null && step % config.noiseScaleEvery() == 0;
            a = runner.retrying(count, step,
                    () -> runner.gradients(data, indices, from, count, scale, stepSeed, null, measure, false));
        }
        // With an adaptive batch the schedule runs in epochs: steps of the initial batch (see AdaptiveBatch).
        long scheduleStep = config.adaptiveBatch() != null && initialBatch > 0 ? samplesSeen / initialBatch : step;
        step++;
        StepRunner.Update u = runner.apply(count, a, step, scheduleStep);
        samplesSeen += count;
        double seconds = (System.nanoTime() - t0) / 1e9;
        NoiseScale noiseScale = runner.noiseScale();
        StepMetrics metrics = new StepMetrics(epoch, step, samplesSeen, count, a.passes(), a.loss().mean(), a.loss().accuracy(),
                u.learningRate(), u.gradientNorm(), noiseScale == null ? Double.NaN : noiseScale.simple(), count / seconds);
        for (TrainingListener l : listeners) {
            l.onStep(metrics);
        }
        return metrics;
    }

    /**
     * Gradients of samples {@code indices[from .. from + count)}, each sample's loss gradient times {@code scale}, summed
     * into {@code parameters().gradients()} (the first micro-batch overwrites): a worker's share of a step that
     * another process applies ({@link GradientSource}). Micro-batches as planned (a remainder shorter than the micro-batch
     * in power-of-two passes when the graph has no BatchNorm: at most log2(b) executor sizes); an allocation failure
     * halves the micro-batch and redoes the share, as {@link #trainBatch} does.
     */
    public StepGradients gradientSum(Dataset data, int[] indices, int from, int count, double scale, long dropoutSeed) {
        return gradientSum(data, indices, from, count, scale, dropoutSeed, null);
    }

    /**
     * {@link #gradientSum(Dataset, int[], int, int, double, long)} for samples that are not contiguous in the step's
     * effective batch: {@code positions[i]} (ascending) is the position in the effective batch of sample
     * {@code indices[from + i]}, so each sample gets the dropout mask it gets in a pass over the whole batch (a worker's
     * share of a step split over several machines). Null: positions {@code 0 .. count - 1}.
     */
    public StepGradients gradientSum(Dataset data, int[] indices, int from, int count, double scale, long dropoutSeed,
                                     int[] positions) {
        if (positions != null) {
            if (positions.length != count) {
                throw new IllegalArgumentException("positions: " + positions.length + " for " + count + " samples");
            }
            for (int i = 0; i < count; i++) {
                if (positions[i] < 0 || (i > 0 && positions[i] <= positions[i - 1])) {
                    throw new IllegalArgumentException("positions must be non-negative and ascending; position " + i + " is "
                            + positions[i] + (i > 0 ? " after " + positions[i - 1] : ""));
                }
            }
        }
        checkData(data);
        runner.plan(count);
        StepRunner.Accumulated a = runner.retrying(count, step,
                () -> runner.gradients(data, indices, from, count, scale, dropoutSeed, positions, false, true));
        return new StepGradients(a.loss(), a.passes());
    }

    /**
     * Loss and accuracy over all of {@code data} in inference mode (running BatchNorm statistics, no
     * dropout). Runs on the training executors, so evaluation needs no memory beyond the plan's.
     */
    public LossResult evaluate(Dataset data) {
        checkData(data);
        runner.plan(effectiveBatch(data.size()));
        return runner.evaluate(data);
    }

    /** Writes weights, optimizer state and the run's position to {@code file}, atomically. */
    public void save(Path file) throws IOException {
        Checkpoint.write(file, this);
    }

    /** Loads a checkpoint written by {@link #save}; a file that does not match is refused whole. */
    public void restore(Path file) throws IOException {
        Checkpoint.read(file, this);
        lastCheckpointStep = step;
        lastCheckpointNanos = System.nanoTime();
    }

    /**
     * Reads only the weights and BatchNorm running statistics of a checkpoint written by {@link #save} into
     * {@code into}, parameters of the graph it was written for (the fingerprint of parameter names and shapes must
     * match); the optimizer state and the run's position are skipped. For exporting a model from a checkpoint. A file
     * that does not match is refused whole, with its name and an offset, and {@code into} is left as it was.
     */
    public static void loadWeights(Path checkpoint, Parameters into) throws IOException {
        Checkpoint.readWeights(checkpoint, into);
    }

    @Override
    public void close() {
        runner.close();
    }

    // --- package-private access for Checkpoint ---

    Tensor[] optimizerState() {
        return runner.optimizerState();
    }

    Optimizer optimizer() {
        return config.optimizer();
    }

    long seed() {
        return config.seed();
    }

    RunPosition position() {
        return new RunPosition(step, epoch, offsetInEpoch, samplesSeen, currentBatch, initialBatch, lastBatchChange);
    }

    void position(RunPosition p) {
        step = p.step();
        epoch = p.epoch();
        offsetInEpoch = p.offsetInEpoch();
        samplesSeen = p.samplesSeen();
        currentBatch = p.currentBatch();
        initialBatch = p.initialBatch();
        lastBatchChange = p.lastBatchChange();
        legacyBatchInEpoch = -1;
    }

    /** A version-1 checkpoint's position: the epoch's progress in batches of the (fixed) effective batch. */
    void legacyPosition(long step, int epoch, int batchInEpoch, long samples) {
        position(new RunPosition(step, epoch, 0, samples, 0, 0, step));
        legacyBatchInEpoch = batchInEpoch;
    }

    NoiseScale noiseScaleState() {
        return runner.noiseScale();
    }

    // --- internals ---

    private void checkData(Dataset data) {
        Shape expected = graph.inputs().get(0).outputShape();
        if (!data.sampleShape().equals(expected)) {
            throw new IllegalArgumentException("dataset samples have shape " + data.sampleShape() + " but input node '"
                    + graph.inputs().get(0).name() + "' takes " + expected);
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Builds a {@link Trainer}: the run's settings ({@link TrainingConfig.Builder}) and what only a trainer has (its
     * graph and backend, checkpoints, a gradient source); {@link #build()} checks that the required settings are there.
     */
    public static final class Builder extends TrainingConfig.Builder<Builder> {
        private final Graph graph;
        private final Backend backend;
        private CheckpointPolicy checkpoints;
        private GradientSource source;

        private Builder(Graph graph, Backend backend) {
            this.graph = Objects.requireNonNull(graph, "graph");
            this.backend = Objects.requireNonNull(backend, "backend");
        }

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Write checkpoints while fitting, as {@code policy} says (by steps, by time, at epoch ends, on a
         * {@linkplain Trainer#requestStop() stop}); {@code null} (default): only when {@link Trainer#save} is called.
         */
        public Builder checkpoints(CheckpointPolicy policy) {
            this.checkpoints = policy;
            return this;
        }

        /**
         * Takes each step's gradients from {@code s} (for example workers of a cluster) instead of this trainer's
         * executors; the trainer still does the rest of the step, checkpoints and listeners. Not with exact BatchNorm
         * statistics, a measured noise scale or an adaptive batch (a source gives the summed gradient only); the
         * micro-batch and memory budget are then the workers' business and may be left unset.
         */
        public Builder gradientSource(GradientSource s) {
            this.source = Objects.requireNonNull(s, "gradient source");
            return this;
        }

        public Trainer build() {
            TrainingConfig c = build("Trainer", source == null);
            if (source != null) {
                String refused = c.batchNorm() == BatchNormMode.EXACT && ExactBatchNorm.applies(graph) ? "exact BatchNorm statistics"
                        : c.measureNoiseScale() ? "measuring the noise scale" : c.adaptiveBatch() != null ? "an adaptive batch" : null;
                if (refused != null) {
                    throw new IllegalStateException("a gradient source gives each step's summed gradient only, so "
                            + refused + " is not available with one");
                }
            }
            if (graph.inputs().size() != 1) {
                throw new IllegalArgumentException("Trainer trains graphs with one input; this one has " + graph.inputs().size());
            }
            return new Trainer(this, c);
        }
    }
}
