package io.batchwise.cudnn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.TrainingSuite;
import org.junit.jupiter.api.BeforeEach;

/** The trainer's guarantees (exact accumulation, determinism, regimes, checkpoints) on the GPU; skipped without one. */
class CudnnTrainingTest extends TrainingSuite {
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
