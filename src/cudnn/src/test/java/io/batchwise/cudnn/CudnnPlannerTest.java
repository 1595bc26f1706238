package io.batchwise.cudnn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.PlannerSuite;
import org.junit.jupiter.api.BeforeEach;

/** The memory planner's predictions against what the GPU backend really allocates; skipped without a GPU. */
class CudnnPlannerTest extends PlannerSuite {
    private static final Backend BACKEND = new CudnnBackend();

    @BeforeEach
    void gpu() {
        Gpu.assumeAvailable();
    }

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
