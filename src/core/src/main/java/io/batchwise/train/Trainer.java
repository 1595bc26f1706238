package io.batchwise.train;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.BatchNorm;
import io.batchwise.loss.HostLoss;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.spi.ExecutorCache;
import io.batchwise.spi.GradientSource;
import io.batchwise.spi.StepGradients;
import io.batchwise.spi.StepRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    private final Loss loss;
    private final Optimizer optimizer;
    private final Schedule schedule;
    private final BatchSize batchSize;
    private int microBatch; // 0 until the planner has chosen it
    private final Budget budget;
    private MemoryPlanner.Decision decision;
    private final long seed;
    private final boolean shuffle;
    private final boolean dropLast;
    private final double clipNorm;
    private final BatchNormMode batchNormMode;
    private final Precision precision;
    private final boolean hasBatchNorm; // the graph has BatchNorm layers
    private final List<TrainingListener> listeners;
    private final NoiseScale noiseScale;
    private final boolean trackNorm; // compute the gradient norm on every step, not only when clipping or measuring
    private final boolean splitSinglePass; // measure the noise scale on k = 1 steps by splitting them in two
    private final int noiseEvery; // measure on steps 1, 1 + n, 1 + 2n, ...
    private final AdaptiveBatch adaptive;
    private final CheckpointPolicy checkpoints; // null: the caller saves
    private final GradientSource source; // null: this trainer's own executors compute the gradients
    private volatile boolean stopRequested;
    private long lastCheckpointStep = -1; // -1: none written or restored in this process yet
    private long lastCheckpointNanos = System.nanoTime();

    private final Parameters parameters;
    private final Tensor[] optimizerState;
    private final Updater updater;
    private final ExecutorCache executors;
    private final Map<Integer, float[]> inputBuffers = new HashMap<>(); // host staging per micro-batch size
    private final EpochOrder epochOrder;

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

    private Trainer(Builder b) {
        this.graph = b.graph;
        this.backend = b.backend;
        this.loss = b.loss;
        this.optimizer = b.optimizer;
        this.schedule = b.schedule;
        this.batchSize = b.batchSize;
        this.microBatch = b.microBatch;
        this.budget = b.budget;
        this.seed = b.seed;
        this.shuffle = b.shuffle;
        this.dropLast = b.dropLast;
        this.clipNorm = b.clipNorm;
        this.batchNormMode = b.batchNormMode;
        this.precision = b.precision;
        this.hasBatchNorm = ExactBatchNorm.applies(graph);
        this.listeners = List.copyOf(b.listeners);
        this.source = b.source;
        // A source gives the summed gradient only, not the first micro-batch's: no noise-scale sample.
        this.noiseScale = b.noiseScaleDecay >= 0 && source == null ? new NoiseScale(b.noiseScaleDecay) : null;
        this.adaptive = b.adaptive;
        this.splitSinglePass = b.measureNoiseScale || b.adaptive != null;
        this.trackNorm = b.gradientNorm;
        this.noiseEvery = b.noiseEvery;
        this.checkpoints = b.checkpoints;
        this.epochOrder = new EpochOrder(seed, shuffle);
        this.parameters = backend.createParameters(graph, DataType.FLOAT32).initialize(seed);
        this.executors = new ExecutorCache(graph, backend, parameters, PlanOptions.forTraining().withPrecision(precision));
        long n = parameters.layout().trainableSize();
        this.optimizerState = new Tensor[optimizer.stateSlots()];
        try {
            for (int i = 0; i < optimizerState.length; i++) {
                optimizerState[i] = backend.allocate(Shape.of((int) Math.max(1, n)), DataType.FLOAT32);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.updater = new Updater(optimizer, n, backend.vectors());
    }

    public static Builder builder(Graph graph, Backend backend) {
        return new Builder(graph, backend);
    }

    public Parameters parameters() {
        return parameters;
    }

    public Graph graph() {
        return graph;
    }

    public Backend backend() {
        return backend;
    }

    public int microBatch() {
        return microBatch;
    }

    /** The numeric policy of every plan this trainer compiles (float32 master weights and optimizer state either way). */
    public Precision precision() {
        return precision;
    }

    /**
     * The gradient noise scale measured from this run's micro-batch and effective-batch gradients
     * (steps with at least two micro-batches add a measurement); empty when switched off.
     */
    public java.util.Optional<NoiseScale> noiseScale() {
        return java.util.Optional.ofNullable(noiseScale);
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
        return java.util.Optional.ofNullable(adaptive);
    }

    public int epoch() {
        return epoch;
    }

    /**
     * Effective batch for a training set of {@code datasetSize} samples: the one the next step takes
     * (with an {@link AdaptiveBatch}, the current one, which grows as training runs).
     */
    public int effectiveBatch(int datasetSize) {
        return adaptive != null && currentBatch > 0 ? Math.min(currentBatch, datasetSize) : batchSize.resolve(datasetSize);
    }

    /** The batch the memory planner plans for: the effective batch, or the largest it may grow to. */
    private int planningBatch(int datasetSize) {
        return adaptive != null ? Math.max(effectiveBatch(datasetSize), Math.min(adaptive.maxBatch(), datasetSize))
                : effectiveBatch(datasetSize);
    }

    /**
     * The memory planner's decision for a training set of {@code datasetSize} samples, made on first
     * use when the trainer was built with a {@linkplain Builder#memoryBudget budget}; empty when the
     * micro-batch was given explicitly.
     */
    public java.util.Optional<MemoryPlanner.Decision> plan(int datasetSize) {
        ensureMicroBatch(planningBatch(datasetSize));
        return java.util.Optional.ofNullable(decision);
    }

    private void ensureMicroBatch(int big) {
        if (microBatch == 0) {
            if (budget == null) { // only with a gradient source: its workers plan their micro-batches, this trainer none
                throw new IllegalStateException("this trainer takes its gradients from a source and has neither a micro-batch"
                        + " nor a memory budget to run executors of its own");
            }
            decision = MemoryPlanner.plan(backend, graph, optimizer.stateSlots(), big, budget, precision);
            microBatch = decision.microBatch();
            LOG.info("planner: micro-batch {} x {} accumulation steps for an effective batch of {}, predicted peak {} of {}",
                    microBatch, decision.accumulationSteps(), big, Budget.human(decision.predictedPeakBytes()), budget);
        }
    }

    /** Micro-batches per full effective batch: {@code k = ceil(B / b)}. */
    public int accumulationSteps(int datasetSize) {
        int big = effectiveBatch(datasetSize);
        ensureMicroBatch(planningBatch(datasetSize));
        return (big + microBatch - 1) / microBatch;
    }

    /** A few lines on how this trainer splits and normalises its batches. */
    public String report(int datasetSize) {
        int big = effectiveBatch(datasetSize);
        ensureMicroBatch(planningBatch(datasetSize));
        int k = accumulationSteps(datasetSize);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("effective batch %d (%s), micro-batch %d, accumulation steps %d%n", big, batchSize, microBatch, k));
        if (precision == Precision.BF16_MIXED) {
            sb.append(String.format("precision: bf16 activations and weight copies; float32 master weights, gradients,"
                    + " optimizer state and accumulation%n"));
        }
        if (adaptive != null) {
            sb.append(String.format("adaptive batch: grows toward the measured noise scale B_simple, up to %d, at most every %d"
                            + " steps; learning rate not rescaled (Smith et al. 2017), schedule followed in epochs%n",
                    Math.min(adaptive.maxBatch(), datasetSize), adaptive.interval()));
        }
        if (noiseScale != null) {
            String when = noiseEvery == 1 ? "every step" : "every " + noiseEvery + " steps";
            sb.append(k > 1 ? String.format("noise scale: measured %s from the first micro-batch and the accumulated gradient%n", when)
                    : splitSinglePass ? String.format("noise scale: measured %s by splitting the single-pass step into two halves%n", when)
                    : String.format("noise scale: not measured (one micro-batch per step)%n"));
        }
        sb.append(String.format("loss: sum over each micro-batch, scaled once by 1/(%d x %d terms)%n", big,
                loss.termsPerSample(graph.output().outputShape())));
        if ((k > 1 || splitSinglePass) && hasBatchNorm) {
            sb.append(batchNormMode == BatchNormMode.EXACT
                    ? String.format("BatchNorm: exact statistics over the effective batch of %d (extra sweeps per step: 2L forward,"
                            + " L backward for L BatchNorm layers)%n", big)
                    : String.format("BatchNorm: ghost statistics over each micro-batch of %d, not over the effective batch of %d%n",
                            microBatch, big));
        }
        return sb.toString();
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
            ensureMicroBatch(planningBatch(n));
        }
        if (epoch < epochs && step < maxSteps && source == null) {
            // Planned and bound here, not in the first step's time; an allocation failure halves b as in a step.
            while (true) {
                try {
                    executors.executor(Math.min(microBatch, effectiveBatch(n)));
                    break;
                } catch (DeviceOutOfMemoryException e) {
                    halveMicroBatch(e, Math.min(effectiveBatch(n), n - offsetInEpoch));
                }
            }
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
            EpochMetrics em = new EpochMetrics(epoch, step, samplesSeen, effectiveBatch(n), microBatch, sum.mean(), sum.accuracy(),
                    noiseScale == null ? Double.NaN : noiseScale.simple(), noiseScale == null ? 0 : noiseScale.count());
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
        return remaining <= 0 || (dropLast && remaining < effectiveBatch(n));
    }

    /** Settles what depends on the dataset size: the adaptive batch's start, a version-1 checkpoint's position. */
    private void start(int n) {
        if (legacyBatchInEpoch >= 0) {
            offsetInEpoch = (int) Math.min(n, (long) legacyBatchInEpoch * batchSize.resolve(n));
            legacyBatchInEpoch = -1;
        }
        if (adaptive != null && currentBatch == 0) {
            currentBatch = batchSize.resolve(n);
            initialBatch = currentBatch;
            lastBatchChange = step;
        }
    }

    /** After a step: grows the effective batch when the {@link AdaptiveBatch} rule says so. */
    private void adapt(int n) {
        if (adaptive == null || noiseScale.count() == 0 || step - lastBatchChange < adaptive.interval()) {
            return;
        }
        int limit = Math.max(1, Math.min(adaptive.maxBatch(), n));
        double b = noiseScale.simple();
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
        if (source != null) { // the source's workers plan, retry and restore on their side
            return attempt(data, indices, from, count, System.nanoTime());
        }
        ensureMicroBatch(count);
        long t0 = System.nanoTime();
        float[] stateBefore = parameters.layout().stateSize() > 0 ? parameters.state().toArray() : null;
        while (true) {
            try {
                return attempt(data, indices, from, count, t0);
            } catch (DeviceOutOfMemoryException e) {
                if (stateBefore != null) {
                    parameters.state().write(stateBefore); // the failed attempt's BatchNorm updates, undone
                }
                halveMicroBatch(e, count);
            }
        }
    }

    /** After an allocation failure: frees the executors and halves the micro-batch (step {@code step + 1} is redone). */
    private void halveMicroBatch(DeviceOutOfMemoryException e, int count) {
        if (microBatch == 1) {
            throw new IllegalStateException("out of memory even at micro-batch 1: " + e.getMessage(), e);
        }
        executors.close();
        int old = microBatch;
        microBatch = Math.max(1, microBatch / 2);
        LOG.warn("allocation failed at micro-batch {} ({}); redoing step {} with micro-batch {} x {} accumulation steps",
                old, e.getMessage(), step + 1, microBatch, (count + microBatch - 1) / microBatch);
    }

    private StepMetrics attempt(Dataset data, int[] indices, int from, int count, long t0) {
        double scale = 1.0 / (count * (double) loss.termsPerSample(graph.output().outputShape()));
        long stepSeed = mix(seed ^ mix(step + 1));
        Accumulated a;
        if (source != null) {
            StepGradients g = source.accumulate(new StepRequest(step + 1, epoch, indices, from, count, scale, stepSeed), parameters);
            a = new Accumulated(g.loss(), g.passes(), 0, 0);
        } else {
            a = accumulate(data, indices, from, count, scale, stepSeed, null, noiseScale != null && step % noiseEvery == 0, false);
        }
        return update(count, a, t0);
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
        ensureMicroBatch(count);
        float[] stateBefore = parameters.layout().stateSize() > 0 ? parameters.state().toArray() : null;
        while (true) {
            try {
                Accumulated a = accumulate(data, indices, from, count, scale, dropoutSeed, positions, false, true);
                return new StepGradients(a.loss(), a.passes());
            } catch (DeviceOutOfMemoryException e) {
                if (stateBefore != null) {
                    parameters.state().write(stateBefore);
                }
                halveMicroBatch(e, count);
            }
        }
    }

    /**
     * A step's loss, its passes, and for the noise scale the first micro-batch's squared mean-gradient norm and size
     * ({@code first = 0}: not measured).
     */
    private record Accumulated(LossResult loss, int passes, double firstSquared, int first) {
    }

    /**
     * The micro-batch loop: gradients of {@code indices[from .. from + count)} times {@code scale}, summed; dropout keyed
     * by each sample's position in the effective batch ({@code positions}, or {@code 0 .. count - 1} when null).
     * {@code share}: a worker's share of a step ({@link #gradientSum}), whose remainder varies in size step to step.
     */
    private Accumulated accumulate(Dataset data, int[] indices, int from, int count, double scale, long stepSeed, int[] positions,
                                   boolean measure, boolean share) {
        LossResult total = LossResult.ZERO;
        int k = 0;
        double firstSquared = 0;
        int first = 0;
        // A single-pass step split in two for the noise scale: exact (accumulation is), dropout keyed by position.
        int micro = measure && splitSinglePass && count >= 2 && count <= microBatch ? (count + 1) / 2 : microBatch;
        if (batchNormMode == BatchNormMode.EXACT && micro < count && hasBatchNorm) {
            if (positions != null) {
                throw new IllegalStateException("exact BatchNorm statistics need the whole effective batch; a share of it"
                        + " (samples at given positions) has ghost statistics only");
            }
            // Statistics over the whole effective batch: extra sweeps (see BatchNormMode.EXACT); no noise-scale sample.
            total = ExactBatchNorm.step(graph, parameters, count, micro, new ExactBatchNorm.MicroBatches() {
                @Override
                public Executor load(int off, int m) {
                    return Trainer.this.load(data, indices, from + off, m);
                }

                @Override
                public Targets targets(int off, int m) {
                    return data.targets(indices, from + off, m);
                }
            }, loss, scale, stepSeed);
            k = (count + micro - 1) / micro;
        } else {
            for (int off = 0, m; off < count; off += m) {
                m = Math.min(micro, count - off);
                if (share && m < micro && !hasBatchNorm) {
                    // A worker's share leaves a remainder of a different size every step, and each new size compiles
                    // an executor (50-80 ms for the MLP, against 2.5 ms for its pass): run it as power-of-two passes
                    // instead, so at most log2(b) sizes ever compile. Exact (a sum); only ghost BatchNorm statistics
                    // would see the split, so graphs with BatchNorm keep one remainder pass.
                    m = Integer.highestOneBit(m);
                }
                Executor exec = load(data, indices, from + off, m);
                exec.forward(positions == null ? Pass.training(stepSeed, off)
                        : Pass.training(stepSeed, slice(positions, off, m)));
                total = total.plus(exec.loss(loss, data.targets(indices, from + off, m), scale));
                exec.backward(off == 0 ? GradientMode.OVERWRITE : GradientMode.ACCUMULATE);
                if (off == 0 && m < count && measure) {
                    // The buffer holds (1 / count) x the sum over these m samples: x count/m is their mean gradient.
                    firstSquared = updater.loadGradients(parameters.gradients()) * ((double) count / m) * ((double) count / m);
                    first = m;
                }
                k++;
            }
        }
        return new Accumulated(total, k, firstSquared, first);
    }

    private static long[] slice(int[] positions, int off, int m) {
        long[] p = new long[m];
        for (int i = 0; i < m; i++) {
            p[i] = positions[off + i];
        }
        return p;
    }

    /** The rest of the step, wherever its gradients came from: norm, noise scale, clipping, schedule, update, listeners. */
    private StepMetrics update(int count, Accumulated a, long t0) {
        // The norm is one more pass over the gradients (about a fifth of a stochastic MLP step): only when used.
        double norm = Double.NaN;
        if (trackNorm || clipNorm > 0 || a.first() > 0) {
            double squared = updater.loadGradients(parameters.gradients());
            norm = Math.sqrt(squared);
            if (a.first() > 0) {
                noiseScale.add(a.firstSquared(), a.first(), squared, count);
            }
        } else {
            updater.useGradients(parameters.gradients());
        }
        if (clipNorm > 0 && norm > clipNorm) {
            // torch.nn.utils.clip_grad_norm_: g *= maxNorm / (norm + 1e-6)
            updater.scaleGradients(parameters.gradients(), clipNorm / (norm + 1e-6));
        }
        // With an adaptive batch the schedule runs in epochs: steps of the initial batch (see AdaptiveBatch).
        double lr = optimizer.lr() * schedule.factor(adaptive != null && initialBatch > 0 ? samplesSeen / initialBatch : step);
        step++;
        updater.step(parameters.values(), optimizerState, step, lr);
        samplesSeen += count;
        double seconds = (System.nanoTime() - t0) / 1e9;
        StepMetrics metrics = new StepMetrics(epoch, step, samplesSeen, count, a.passes(), a.loss().mean(), a.loss().accuracy(), lr,
                norm, noiseScale == null ? Double.NaN : noiseScale.simple(), count / seconds);
        for (TrainingListener l : listeners) {
            l.onStep(metrics);
        }
        return metrics;
    }

    /**
     * Loss and accuracy over all of {@code data} in inference mode (running BatchNorm statistics, no
     * dropout). Runs on the training executors, so evaluation needs no memory beyond the plan's.
     */
    public LossResult evaluate(Dataset data) {
        checkData(data);
        int n = data.size();
        ensureMicroBatch(effectiveBatch(n));
        int[] order = EpochOrder.identity(n);
        Shape out = graph.output().outputShape();
        LossResult total = LossResult.ZERO;
        for (int from = 0; from < n; from += microBatch) {
            int m = Math.min(microBatch, n - from);
            Executor exec = load(data, order, from, m);
            exec.forward(Pass.inference());
            Targets targets = data.targets(order, from, m);
            double[] y = exec.output().toDoubles();
            total = total.plus(HostLoss.compute(loss, out, m, y, targets, 1, new double[y.length]));
        }
        return total;
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
        executors.close();
        if (optimizerState != null) {
            for (Tensor t : optimizerState) {
                if (t != null) {
                    t.close();
                }
            }
        }
        parameters.close();
    }

    // --- package-private access for Checkpoint ---

    Tensor[] optimizerState() {
        return optimizerState;
    }

    Optimizer optimizer() {
        return optimizer;
    }

    long seed() {
        return seed;
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
        return noiseScale;
    }

    // --- internals ---

    /** The executor for {@code m} samples with the inputs of {@code indices[from .. from + m)} written. */
    private Executor load(Dataset data, int[] indices, int from, int m) {
        Executor exec = executors.executor(m);
        float[] buffer = inputBuffers.computeIfAbsent(m, s -> new float[s * data.sampleShape().sizeAsInt()]);
        data.copyInputs(indices, from, m, exec.input(), buffer);
        return exec;
    }

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

    /** Builds a {@link Trainer}; {@link #build()} checks that the required settings are there. */
    public static final class Builder {
        private final Graph graph;
        private final Backend backend;
        private Loss loss;
        private Optimizer optimizer;
        private Schedule schedule = Schedule.constant();
        private BatchSize batchSize;
        private int microBatch;
        private Budget budget;
        private long seed = 1;
        private boolean shuffle = true;
        private boolean dropLast;
        private double clipNorm;
        private BatchNormMode batchNormMode = BatchNormMode.GHOST;
        private Precision precision = Precision.FLOAT32;
        private final List<TrainingListener> listeners = new ArrayList<>();
        private double noiseScaleDecay = 0.95;
        private boolean measureNoiseScale;
        private boolean gradientNorm;
        private int noiseEvery = 1;
        private AdaptiveBatch adaptive;
        private CheckpointPolicy checkpoints;
        private GradientSource source;

        private Builder(Graph graph, Backend backend) {
            this.graph = Objects.requireNonNull(graph, "graph");
            this.backend = Objects.requireNonNull(backend, "backend");
        }

        public Builder loss(Loss l) {
            this.loss = l;
            return this;
        }

        public Builder optimizer(Optimizer o) {
            this.optimizer = o;
            return this;
        }

        public Builder schedule(Schedule s) {
            this.schedule = Objects.requireNonNull(s);
            return this;
        }

        /** The effective batch: {@link BatchSize#full()}, {@link BatchSize#mini}, {@link BatchSize#stochastic()}. */
        public Builder batch(BatchSize b) {
            this.batchSize = b;
            return this;
        }

        /** Samples per forward/backward pass. */
        public Builder microBatch(int b) {
            if (b <= 0) {
                throw new IllegalArgumentException("micro-batch must be positive, got " + b);
            }
            this.microBatch = b;
            return this;
        }

        /**
         * Let the memory planner choose the micro-batch: the largest that fits {@code b} (e.g.
         * {@link Budget#host(long)}), decided from the plans before anything runs.
         */
        public Builder memoryBudget(Budget b) {
            this.budget = Objects.requireNonNull(b);
            return this;
        }

        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        public Builder shuffle(boolean s) {
            this.shuffle = s;
            return this;
        }

        /** Drop the last, shorter effective batch of each epoch (default: keep it, normalised exactly). */
        public Builder dropLast(boolean d) {
            this.dropLast = d;
            return this;
        }

        /**
         * BatchNorm statistics under accumulation: {@link BatchNormMode#GHOST} (default, each micro-batch's) or
         * {@link BatchNormMode#EXACT} (the effective batch's, at the cost of extra sweeps).
         */
        public Builder batchNorm(BatchNormMode mode) {
            this.batchNormMode = java.util.Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * The numeric policy: {@link Precision#FLOAT32} (default) or {@link Precision#BF16_MIXED} (bf16 activations
         * and kernel weight copies; float32 master weights, gradients, statistics, losses, optimizer state and
         * accumulation). The memory planner counts the bytes of the chosen policy. A backend without native bf16
         * refuses BF16_MIXED when the first plan is compiled.
         */
        public Builder precision(Precision p) {
            this.precision = java.util.Objects.requireNonNull(p, "precision");
            return this;
        }

        /** Clip the gradient to this global L2 norm; 0 (default) disables clipping. */
        public Builder clipGradientNorm(double maxNorm) {
            if (maxNorm < 0) {
                throw new IllegalArgumentException("max gradient norm must be >= 0, got " + maxNorm);
            }
            this.clipNorm = maxNorm;
            return this;
        }

        /**
         * Report the gradient's global L2 norm in {@link StepMetrics#gradientNorm()} on every step (default
         * off: NaN on steps where neither clipping nor the noise-scale measurement computes it). Costs one
         * pass over the gradients per step: about 0.04 ms for 235k parameters on one CPU core, a fifth of a
         * stochastic (b = 1) MLP step, under 2% from b = 32.
         */
        public Builder reportGradientNorm(boolean report) {
            this.gradientNorm = report;
            return this;
        }

        /**
         * Decay of the moving averages behind the gradient noise scale (default 0.95); a negative value
         * switches the measurement off. It costs one pass over the gradients per step with k >= 2.
         */
        public Builder noiseScaleDecay(double decay) {
            this.noiseScaleDecay = decay;
            return this;
        }

        /**
         * Also measure the noise scale on steps that fit in one micro-batch, by running each as two
         * micro-batches of half the samples (exact, since accumulation is; BatchNorm then uses the
         * halves' statistics). Costs the throughput difference between one pass and two half passes.
         */
        public Builder measureNoiseScale(boolean always) {
            this.measureNoiseScale = always;
            return this;
        }

        /**
         * Measure the noise scale on every {@code n}-th step only (steps 1, 1 + n, ...; default 1, every
         * step): divides its cost (one more pass over the gradients, or the split of a single-pass step)
         * by {@code n}. The estimate stays unbiased; its moving averages then span {@code n} times the steps.
         */
        public Builder noiseScaleEvery(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("noise-scale interval must be at least 1 step, got " + n);
            }
            this.noiseEvery = n;
            return this;
        }

        /**
         * Grow the effective batch during training toward the measured noise scale, keeping the
         * micro-batch and raising the accumulation steps (see {@link AdaptiveBatch} for the rule and
         * the learning rate); {@code null} (default) keeps it fixed. With a memory budget the planner
         * plans the micro-batch for the largest batch it may grow to. Measures the noise scale on
         * every step, or every {@link #noiseScaleEvery} steps (splitting single-pass steps as
         * {@link #measureNoiseScale} does).
         */
        public Builder adaptiveBatch(AdaptiveBatch policy) {
            this.adaptive = policy;
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

        public Builder listener(TrainingListener l) {
            listeners.add(Objects.requireNonNull(l));
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
            List<String> missing = new ArrayList<>();
            if (loss == null) {
                missing.add("loss");
            }
            if (optimizer == null) {
                missing.add("optimizer");
            }
            if (batchSize == null) {
                missing.add("batch");
            }
            if (microBatch == 0 && budget == null && source == null) {
                missing.add("microBatch or memoryBudget");
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("Trainer needs " + String.join(", ", missing));
            }
            if (adaptive != null && noiseScaleDecay < 0) {
                throw new IllegalStateException("an adaptive batch needs the noise scale: noiseScaleDecay is " + noiseScaleDecay);
            }
            if (source != null) {
                String refused = batchNormMode == BatchNormMode.EXACT && ExactBatchNorm.applies(graph) ? "exact BatchNorm statistics"
                        : measureNoiseScale ? "measuring the noise scale" : adaptive != null ? "an adaptive batch" : null;
                if (refused != null) {
                    throw new IllegalStateException("a gradient source gives each step's summed gradient only, so "
                            + refused + " is not available with one");
                }
            }
            if (graph.inputs().size() != 1) {
                throw new IllegalArgumentException("Trainer trains graphs with one input; this one has " + graph.inputs().size());
            }
            return new Trainer(this);
        }
    }
}
