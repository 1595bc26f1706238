package io.batchwise.cudnn;

import io.batchwise.Graph;
import io.batchwise.backend.Executor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.spi.BoundExecutors;

/**
 * A graph compiled for one micro-batch: the {@link CudnnProgram} and its device-side descriptors,
 * built once and reused by every executor bound to it. Holds no device memory. Closing it frees the
 * descriptors (closing any executor still open first).
 */
final class CudnnPlan implements Plan {
    final CudnnDevice device;
    final CudnnProgram program;
    final CudnnDevice.Compiled compiled;
    private final BoundExecutors<CudnnExecutor> executors = new BoundExecutors<>();

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
    public Executor bind(Parameters parameters, Tensor arena) {
        return executors.bind(() -> new CudnnExecutor(this, parameters, arena));
    }

    void closed(CudnnExecutor e) {
        executors.unbound(e);
    }

    void checkOpen() {
        executors.requireOpen();
    }

    @Override
    public void close() {
        if (executors.close()) {
            compiled.close();
        }
    }

    @Override
    public String toString() {
        return "cuDNN plan, micro-batch " + program.batch + " on " + device.describe() + "\n" + program.listing()
                + program.memory.table();
    }
}
