package io.batchwise.inference;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Executor;
import io.batchwise.backend.Pass;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Softmax;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.spi.ExecutorCache;

/**
 * Runs a {@link Model} forward in inference mode ({@link Pass#inference()}: BatchNorm normalises with its running
 * statistics, dropout is the identity) on the model's backend.
 *
 * <p><b>Batches.</b> The batch is the memory planner's: the largest {@code b <= maxBatch} whose inference plan
 * ({@link PlanOptions#forInference()}: no activation gradients, no optimizer state, so far larger than a training
 * micro-batch) fits the budget beside the model's parameters ({@link MemoryPlanner#planInference}). A request of
 * {@code n} samples runs as {@code floor(n / b)} passes of {@code b} and, for the rest {@code r}, one pass at the
 * smallest power of two {@code >= r} (at most {@code b}), zero-padded: at most {@code log2(b) + 1} plans are
 * compiled, all carved from one arena. Inference is per sample, so the padding never changes a real sample's output.
 *
 * <p><b>Threads.</b> Safe for concurrent callers: each {@link #predict} holds one lock while it writes the inputs,
 * runs the passes and reads the outputs; softmax and metrics run outside it. A lock rather than a pool of executors,
 * one per caller, because (1) a CPU backend already spreads one pass over every core (oneDNN's OpenMP team), so
 * executors running side by side would contend for the same cores and oversubscribe them, and a device backend
 * serialises on its one stream anyway; (2) the planned batch, not concurrency, is what fills the machine: callers
 * that want throughput send larger requests; (3) one arena instead of one per caller keeps the plan's memory
 * prediction true; (4) the {@link Backend} contract does not promise that its process-wide stream may be used from
 * several threads at once, and a lock is correct whatever the backend. The cost: a small request waits for a large
 * one in front of it. (Not measured against a pool: with one pass already using every core, a pool could gain only
 * the host-side copies.)
 *
 * <p>Owns its plans, executors and arena and frees them on {@link #close()} (waiting for a running request); it
 * borrows the model's parameters, and {@link Model#close()} closes it first.
 */
public final class Predictor implements AutoCloseable {
    /** Margin left beside an automatic budget, as {@code train} leaves. */
    private static final long AUTO_MARGIN = 512L << 20;

    /**
     * How a predictor plans.
     *
     * @param maxBatch the largest batch per pass; the planner picks at most this
     * @param budget   memory for the parameters and one pass; null: the backend's automatic budget less 512 MiB
     */
    public record Options(int maxBatch, Budget budget) {
        public Options {
            if (maxBatch <= 0) {
                throw new IllegalArgumentException("maxBatch must be positive, got " + maxBatch);
            }
        }

        /** Batches of up to 4,096 samples in the automatic budget. */
        public static Options defaults() {
            return new Options(4096, null);
        }

        public Options withMaxBatch(int b) {
            return new Options(b, budget);
        }

        public Options withBudget(Budget b) {
            return new Options(maxBatch, b);
        }
    }

    private final Model model;
    private final Node input;
    private final int inSize;
    private final int outSize;
    private final MemoryPlanner.Decision decision;
    private final int batch;
    private final Object lock = new Object();
    // Guarded by lock: plans and executors by batch size, their shared arena, zeros for padding.
    private final ExecutorCache executors;
    private float[] zeros = new float[0];
    private boolean closed;

    Predictor(Model model, Options options) {
        this.model = model;
        Graph g = model.graph();
        if (g.inputs().size() != 1) {
            throw new IllegalArgumentException("a predictor takes graphs with one input; this one has " + g.inputs().size());
        }
        this.input = g.inputs().get(0);
        this.inSize = input.outputShape().sizeAsInt();
        this.outSize = g.output().outputShape().sizeAsInt();
        Backend backend = model.backend();
        Budget budget = options.budget() != null ? options.budget() : backend.automaticBudget(AUTO_MARGIN);
        this.decision = MemoryPlanner.planInference(backend, g, options.maxBatch(), budget);
        this.batch = decision.microBatch();
        this.executors = new ExecutorCache(g, backend, model.parameters(), PlanOptions.forInference());
        synchronized (lock) {
            try {
                executor(batch); // the full batch sizes the arena now, not at the first request
            } catch (RuntimeException | Error e) {
                closeAll();
                throw e;
            }
        }
    }

    /** Samples per pass, as planned. */
    public int batch() {
        return batch;
    }

    /** The planner's decision: the batch, the arena and the predicted peak against the budget. */
    public MemoryPlanner.Decision plan() {
        return decision;
    }

    /** Per-sample input shape. */
    public Shape inputShape() {
        return input.outputShape();
    }

    /** Per-sample output shape. */
    public Shape outputShape() {
        return model.graph().output().outputShape();
    }

    /**
     * The graph's outputs (logits, for a classifier) for {@code n} samples: {@code inputs} holds
     * {@code n * inputShape().size()} values sample-major, the result {@code n * outputShape().size()}.
     */
    public float[] predict(float[] inputs, int n) {
        if (n <= 0 || inputs.length != (long) n * inSize) {
            throw new IllegalArgumentException("predict takes n > 0 samples of shape " + input.outputShape() + " (" + inSize
                    + " values each); got n = " + n + " and " + inputs.length + " values");
        }
        float[] out = new float[Math.multiplyExact(n, outSize)];
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the predictor is closed");
            }
            for (int from = 0; from < n; from += batch) {
                int m = Math.min(batch, n - from);
                int size = passSize(m, batch);
                Executor exec = executor(size);
                Tensor x = exec.input(input.name());
                x.write(0, inputs, from * inSize, m * inSize);
                if (size > m) {
                    int pad = (size - m) * inSize;
                    if (zeros.length < pad) {
                        zeros = new float[pad];
                    }
                    x.write((long) m * inSize, zeros, 0, pad);
                }
                exec.forward(Pass.inference());
                exec.output().read(0, out, from * outSize, m * outSize);
            }
        }
        return out;
    }

    /**
     * Class probabilities for {@code n} samples: the softmax over each sample's outputs (in float64, rounded), or the
     * outputs as they are when the graph ends in a {@link Softmax}. For graphs whose output is a vector {@code (K)}.
     */
    public float[] predictProbabilities(float[] inputs, int n) {
        if (outputShape().rank() != 1) {
            throw new IllegalStateException("probabilities need a vector output (K); this graph gives " + outputShape());
        }
        float[] y = predict(inputs, n);
        if (model.graph().output().layer() instanceof Softmax) {
            return y;
        }
        for (int s = 0; s < n; s++) {
            int o = s * outSize;
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < outSize; k++) {
                max = Math.max(max, y[o + k]);
            }
            double z = 0;
            double[] e = new double[outSize];
            for (int k = 0; k < outSize; k++) {
                e[k] = Math.exp(y[o + k] - max);
                z += e[k];
            }
            for (int k = 0; k < outSize; k++) {
                y[o + k] = (float) (e[k] / z);
            }
        }
        return y;
    }

    /** Outputs for {@code n} samples scored against {@code labels}: confusion matrix, per-class metrics and top-k. */
    public Evaluation evaluate(float[] inputs, int n, int[] labels, int topK) {
        if (outputShape().rank() != 1) {
            throw new IllegalStateException("evaluation needs a vector output (K); this graph gives " + outputShape());
        }
        return Evaluation.of(predict(inputs, n), labels, outSize, topK);
    }

    /** The pass that runs {@code m <= batch} samples: the batch, or the smallest power of two {@code >= m} below it. */
    static int passSize(int m, int batch) {
        int p = Integer.highestOneBit(m);
        return Math.min(batch, p < m ? p << 1 : p);
    }

    /** The executor for {@code size} samples, compiled and bound on first use; callers hold the lock. */
    private Executor executor(int size) {
        return executors.executor(size);
    }

    private void closeAll() {
        executors.close();
    }

    /** Frees the plans, executors and arena; waits for a request in progress. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            closeAll();
        }
        model.forget(this);
    }
}
