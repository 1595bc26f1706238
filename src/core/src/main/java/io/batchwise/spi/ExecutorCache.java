package io.batchwise.spi;

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
 * Executors of one graph, one per batch size, compiled and bound on first use and reused: a trainer's per
 * micro-batch size, a predictor's per pass size. All carve their step buffers from one shared arena (they never
 * run interleaved), so a short last micro-batch costs no memory beyond the full one's plan. Owns the plans, the
 * executors and the arena; {@link #close()} frees them (a trainer calls it after an allocation failure, and the
 * cache can be used again). Not thread-safe.
 */
public final class ExecutorCache implements AutoCloseable {
    private final Graph graph;
    private final Backend backend;
    private final Parameters parameters;
    private final PlanOptions options;
    private final Map<Integer, Plan> plans = new LinkedHashMap<>();
    private final Map<Integer, Executor> executors = new LinkedHashMap<>();
    private Tensor arena; // sized by the largest plan

    /** Plans of {@code graph} with {@code options}, bound to {@code parameters}. */
    public ExecutorCache(Graph graph, Backend backend, Parameters parameters, PlanOptions options) {
        this.graph = graph;
        this.backend = backend;
        this.parameters = parameters;
        this.options = options;
    }

    /** The executor for batches of {@code m} samples. */
    public Executor executor(int m) {
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

    /** Frees every executor, plan and the arena. */
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
