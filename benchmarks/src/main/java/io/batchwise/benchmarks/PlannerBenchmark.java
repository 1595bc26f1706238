package io.batchwise.benchmarks;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.train.Optimizer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Time for the memory planner to choose the micro-batch: {@code MemoryPlanner.plan} on the oneDNN backend
 * with Adam's two state slots, effective batch 4096, budget 256 MiB. Each call compiles its plans anew
 * (oneDNN's primitive cache makes repeated calls warmer than the first one in a process; PlannerVsTrialSearch
 * reports that first call). Issue target: under 50 ms for the 50-layer network.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PlannerBenchmark {
    static final int EFFECTIVE_BATCH = 4096;
    static final Budget BUDGET = Budget.parse("256MiB");
    static final int ADAM_SLOTS = Optimizer.Adam.of(1e-3).stateSlots();

    @Param({"deep50", "lenet"})
    public String model;

    private Backend backend;
    private Graph graph;

    @Setup
    public void setUp() {
        backend = Backends.get("onednn");
        graph = Fixtures.model(model);
    }

    @Benchmark
    public MemoryPlanner.Decision plan() {
        return MemoryPlanner.plan(backend, graph, ADAM_SLOTS, EFFECTIVE_BATCH, BUDGET);
    }
}
