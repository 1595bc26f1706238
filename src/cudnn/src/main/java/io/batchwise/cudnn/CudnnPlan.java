package io.batchwise.cudnn;

import io.batchwise.Graph;
import io.batchwise.backend.Executor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.plan.MemoryPlan;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A graph compiled for one micro-batch: the {@link CudnnProgram} and its device-side descriptors,
 * built once and reused by every executor bound to it. Holds no device memory. Closing it frees the
 * descriptors (closing any executor still open first).
 */
final class CudnnPlan implements Plan {
    final CudnnDevice device;
    final CudnnProgram program;
    final CudnnDevice.Compiled compiled;
    private final Set<CudnnExecutor> executors = new LinkedHashSet<>();
    private boolean closed;

    CudnnPlan(CudnnDevice device, CudnnProgram program) {
        this.device = device;
        this.program = program;
        this.compiled = device.compile(program);
    }

    @Override
    public Graph graph() {
        return program.graph;
    }

    @Override
    public int microBatch() {
        return program.batch;
    }

    @Override
    public PlanOptions options() {
        return program.options;
    }

    @Override
    public MemoryPlan memory() {
        return program.memory;
    }

    @Override
    public Executor bind(Parameters parameters) {
        return bind(parameters, null);
    }

    @Override
    public Executor bind(Parameters parameters, Tensor arena) {
        checkOpen();
        CudnnExecutor e = new CudnnExecutor(this, parameters, arena);
        executors.add(e);
        return e;
    }

    void closed(CudnnExecutor e) {
        executors.remove(e);
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the plan is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        for (CudnnExecutor e : new ArrayList<>(executors)) {
            e.close();
        }
        closed = true;
        compiled.close();
    }

    @Override
    public String toString() {
        return "cuDNN plan, micro-batch " + program.batch + " on " + device.describe() + "\n" + program.listing()
                + program.memory.table();
    }
}
