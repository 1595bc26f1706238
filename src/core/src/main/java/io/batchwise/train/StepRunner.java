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
import io.batchwise.backend.Tensor;
import io.batchwise.loss.HostLoss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.spi.ExecutorCache;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One optimizer step's work, without the run around it: the gradient half ({@link #gradients}: the micro-batch loop,
 * accumulation, exact BatchNorm, the noise-scale sample; what a worker of a cluster runs for its share) and the update
 * half ({@link #apply}: norm, noise scale, clipping, the update; what the process that owns the step runs). It owns
 * the parameters, the optimizer state, the executors per micro-batch size and the micro-batch, which an allocation
 * failure halves ({@link #retrying}). The run's position (step, epoch, samples) and its loop stay in {@link Trainer}.
 */
final class StepRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class); // one logger name for the whole engine
    private final Graph graph;
    private final Backend backend;
    private final TrainingConfig config;
    private final boolean hasBatchNorm; // the graph has BatchNorm layers
    private final NoiseScale noiseScale; // null: not measured
    private final Parameters parameters;
    private final Tensor[] optimizerState;
    private final Updater updater;
    private final ExecutorCache executors;
    private final Map<Integer, float[]> inputBuffers = new HashMap<>(); // host staging per micro-batch size
    private int microBatch; // 0 until the planner has chosen it
    private MemoryPlanner.Decision decision; // null: given, or not planned yet

    /**
     * A step's loss, its passes, and for the noise scale the first micro-batch's squared mean-gradient norm and size
     * ({@code first = 0}: not measured).
     */
    record Accumulated(LossResult loss, int passes, double firstSquared, int first) {
    }

    /** What the update half used: the gradient's norm (NaN when not computed) and the learning rate. */
    record Update(double gradientNorm, double learningRate) {
    }

    /** Allocates the parameters (initialised from the config's seed) and the optimizer state on {@code backend}. */
    StepRunner(Graph graph, Backend backend, TrainingConfig config, boolean measureNoise) {
        this.graph = graph;
        this.backend = backend;
        this.config = config;
        this.hasBatchNorm = ExactBatchNorm.applies(graph);
        this.microBatch = config.microBatch();
        this.noiseScale = measureNoise ? new NoiseScale(config.noiseScaleDecay()) : null;
        this.parameters = backend.createParameters(graph, DataType.FLOAT32).initialize(config.seed());
        this.executors = new ExecutorCache(graph, backend, parameters,
                PlanOptions.forTraining().withPrecision(config.precision()));
        long n = parameters.layout().trainableSize();
        this.optimizerState = new Tensor[config.optimizer().stateSlots()];
        try {
            for (int i = 0; i < optimizerState.length; i++) {
                optimizerState[i] = backend.allocate(Shape.of((int) Math.max(1, n)), DataType.FLOAT32);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.updater = new Updater(config.optimizer(), n, backend.vectors());
    }

    Parameters parameters() {
        return parameters;
    }

    Tensor[] optimizerState() {
        return optimizerState;
    }

    NoiseScale noiseScale() {
        return noiseScale;
    }

    boolean hasBatchNorm() {
        return hasBatchNorm;
    }

    /** The micro-batch; 0 until {@link #plan} has run when the config leaves it to the planner. */
    int microBatch() {
        return microBatch;
    }

    /** The planner's decision; null when the micro-batch was given or nothing was planned yet. */
    MemoryPlanner.Decision decision() {
        return decision;
    }

    /** Chooses the micro-batch for effective batches of up to {@code big} samples, once, when the config has a budget. */
    void plan(int big) {
        if (microBatch != 0) {
            return;
        }
        Budget budget = config.budget();
        if (budget == null) { // only with a gradient source: its workers plan their micro-batches, this trainer none
            throw new IllegalStateException("this trainer takes its gradients from a source and has neither a micro-batch"
                    + " nor a memory budget to run executors of its own");
        }
        decision = MemoryPlanner.plan(backend, graph, config.optimizer().stateSlots(), big, budget, config.precision());
        microBatch = decision.microBatch();
        LOG.info("planner: micro-batch {} x {} accumulation steps for an effective batch of {}, predicted peak {} of {}",
                microBatch, decision.accumulationSteps(), big, Budget.human(decision.predictedPeakBytes()), budget);
    }

    /**
     * Plans and binds the executor for passes of {@code min(microBatch, batch)} samples now, so the first step's time
     * does not include it; an allocation failure halves the micro-batch as in a step ({@code count}: the next step's size).
     */
    void prepare(int batch, int count, long step) {
        while (true) {
            try {
                executors.executor(Math.min(microBatch, batch));
                return;
            } catch (DeviceOutOfMemoryException e) {
                halve(e, count, step);
            }
        }
    }

    /**
     * Runs {@code attempt} (the gradient half of step {@code step + 1}, {@code count} samples); when an allocation
     * fails in it, frees the executors, restores the BatchNorm state, halves the micro-batch (so doubles the
     * accumulation steps) and runs it again from its start: the first micro-batch overwrites the gradients, so nothing
     * is lost or counted twice, and the effective batch is unchanged.
     */
    <T> T retrying(int count, long step, Supplier<T> attempt) {
        float[] stateBefore = parameters.layout().stateSize() > 0 ? parameters.state().toArray() : null;
        while (true) {
            try {
                return attempt.get();
            } catch (DeviceOutOfMemoryException e) {
                if (stateBefore != null) {
                    parameters.state().write(stateBefore); // the failed attempt's BatchNorm updates, undone
                }
                halve(e, count, step);
            }
        }
    }

    /** After an allocation failure: frees the executors and halves the micro-batch (step {@code step + 1} is redone). */
    private void halve(DeviceOutOfMemoryException e, int count, long step) {
        if (microBatch == 1) {
            throw new IllegalStateException("out of memory even at micro-batch 1: " + e.getMessage(), e);
        }
        executors.close();
        int old = microBatch;
        microBatch = Math.max(1, microBatch / 2);
        LOG.warn("allocation failed at micro-batch {} ({}); redoing step {} with micro-batch {} x {} accumulation steps",
                old, e.getMessage(), step + 1, microBatch, (count + microBatch - 1) / microBatch);
    }

    /**
     * The gradient half: gradients of {@code indices[from .. from + count)} times {@code scale}, summed into
     * {@code parameters().gradients()} (the first pass overwrites); dropout keyed by each sample's position in the
     * effective batch ({@code positions}, or {@code 0 .. count - 1} when null). {@code measure}: take the noise-scale
     * sample from the first micro-batch (splitting a single-pass step in two when the config says so). {@code share}: a
     * worker's share of a step, whose remainder varies in size from step to step.
     */
    Accumulated gradients(Dataset data, int[] indices, int from, int count, double scale, long stepSeed, int[] positions,
                          boolean measure, boolean share) {
        LossResult total = LossResult.ZERO;
        int k = 0;
        double firstSquared = 0;
        int first = 0;
        // A single-pass step split in two for the noise scale: exact (accumulation is), dropout keyed by position.
        int micro = measure && config.splitsSinglePass() && count >= 2 && count <= microBatch ? (count + 1) / 2 : microBatch;
        if (config.batchNorm() == BatchNormMode.EXACT && micro < count && hasBatchNorm) {
            if (positions != null) {
                throw new IllegalStateException("exact BatchNorm statistics need the whole effective batch; a share of it"
                        + " (samples at given positions) has ghost statistics only");
            }
            // Statistics over the whole effective batch: extra sweeps (see BatchNormMode.EXACT); no noise-scale sample.
            total = ExactBatchNorm.step(graph, parameters, count, micro, new ExactBatchNorm.MicroBatches() {
                @Override
                public Executor load(int off, int m) {
                    return StepRunner.this.load(data, indices, from + off, m);
                }

                @Override
                public Targets targets(int off, int m) {
                    return data.targets(indices, from + off, m);
                }
            }, config.loss(), scale, stepSeed);
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
                total = total.plus(exec.loss(config.loss(), data.targets(indices, from + off, m), scale));
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

    /**
     * The update half, wherever the gradients came from: the norm (only when clipping, reporting or measuring use it:
     * it is one more pass over the gradients, about a fifth of a stochastic MLP step), the noise-scale sample, clipping,
     * and optimizer step {@code step} (1-based) at the schedule's position {@code scheduleStep}.
     */
    Update apply(int count, Accumulated a, long step, long scheduleStep) {
        double norm = Double.NaN;
        if (config.reportGradientNorm() || config.clipNorm() > 0 || a.first() > 0) {
            double squared = updater.loadGradients(parameters.gradients());
            norm = Math.sqrt(squared);
            if (a.first() > 0) {
                noiseScale.add(a.firstSquared(), a.first(), squared, count);
            }
        } else {
            updater.useGradients(parameters.gradients());
        }
        double clip = config.clipNorm();
        if (clip > 0 && norm > clip) {
            // torch.nn.utils.clip_grad_norm_: g *= maxNorm / (norm + 1e-6)
            updater.scaleGradients(parameters.gradients(), clip / (norm + 1e-6));
        }
        double lr = config.optimizer().lr() * config.schedule().factor(scheduleStep);
        updater.step(parameters.values(), optimizerState, step, lr);
        return new Update(norm, lr);
    }

    /**
     * Loss and accuracy over all of {@code data} in inference mode (running BatchNorm statistics, no dropout), in
     * passes of the micro-batch on the training executors, so evaluation needs no memory beyond the plan's.
     */
    LossResult evaluate(Dataset data) {
        int n = data.size();
        int[] order = EpochOrder.identity(n);
        Shape out = graph.output().outputShape();
        LossResult total = LossResult.ZERO;
        for (int from = 0; from < n; from += microBatch) {
            int m = Math.min(microBatch, n - from);
            Executor exec = load(data, order, from, m);
            exec.forward(Pass.inference());
            Targets targets = data.targets(order, from, m);
            double[] y = exec.output().toDoubles();
            total = total.plus(HostLoss.compute(config.loss(), out, m, y, targets, 1, new double[y.length]));
        }
        return total;
    }

    /** The executor for {@code m} samples with the inputs of {@code indices[from .. from + m)} written. */
    private Executor load(Dataset data, int[] indices, int from, int m) {
        Executor exec = executors.executor(m);
        float[] buffer = inputBuffers.computeIfAbsent(m, s -> new float[s * data.sampleShape().sizeAsInt()]);
        data.copyInputs(indices, from, m, exec.input(), buffer);
        return exec;
    }

    /** Frees the executors, the optimizer state and the parameters. */
    @Override
    public void close() {
        executors.close();
        for (Tensor t : optimizerState) {
            if (t != null) { // a slot the constructor could not allocate
                t.close();
            }
        }
        parameters.close();
    }
}
