package io.batchwise.train;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Executor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A trainer's training executors, one per micro-batch size, compiled and bound on first use and reused. All
 * carve their step buffers from one shared arena (they never run interleaved), so a short last micro-batch
 * costs no memory beyond the full micro-batch's plan. Owns the plans, the executors, the arena and the host
 * input buffers; {@link #close()} frees them (and the trainer calls it after an allocation failure).
 */
final class ExecutorCache implements AutoCloseable {
    private final Graph graph;
    private final Backend backend;
    private final Parameters parameters;
    private final PlanOptions options;
    private final Map<Integer, Plan> plans = new LinkedHashMap<>();
    private final Map<Integer, Executor> executors = new LinkedHashMap<>();
    private Tensor arena; // sized by the largest plan
    private final Map<Integer, float[]> inputBuffers = new LinkedHashMap<>();

    ExecutorCache(Graph graph, Backend backend, Parameters parameters, PlanOptions options) {
        this.graph = graph;
        this.backend = backend;
        this.parameters = parameters;
        this.options = options;
    }

    /** The training executor for micro-batches of {@code m} samples. */
    Executor executor(int m) {
        Executor e = executors.get(m);
        if (e == null) {
            Plan plan = plans.get(m);
            if (plan == null) {
                plan = backend.plan(graph, m, options);
                plans.put(m, plan);
            }
            long need = plan.memory().arena().bytes();
            if (arena == null || arena.bytes() < need) {
                // Normally the full micro-batch comes first and sizes the arena once; otherwise rebind all.
                executors.values().forEach(Executor::close);
                executors.clear();
                if (arena != null) {
                    arena.close();
                    arena = null;
                }
                arena = backend.allocate(Shape.of((int) Math.max(1, (need + 3) / 4)), DataType.FLOAT32);
            }
            e = plan.bind(parameters, arena);
            executors.put(m, e);
        }
        return e;
    }

    /** The executor for {@code m} samples with the inputs of {@code indices[from .. from + m)} written. */
    Executor load(Dataset data, int[] indices, int from, int m) {
        Executor exec = executor(m);
        float[] buffer = inputBuffers.computeIfAbsent(m, s -> new float[s * data.sampleShape().sizeAsInt()]);
        data.copyInputs(indices, from, m, exec.input(), buffer);
        return exec;
    }

    /** Frees every executor, plan and the arena (the input buffers, plain heap, stay for reuse). */
    @Override
    public void close() {
        executors.values().forEach(Executor::close);
        plans.values().forEach(Plan::close);
        executors.clear();
        plans.clear();
        if (arena != null) {
            arena.close();
            arena = null;
        }
    }
}
