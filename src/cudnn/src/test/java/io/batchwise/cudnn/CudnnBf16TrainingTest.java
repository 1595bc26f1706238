package io.batchwise.cudnn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.Bf16TrainingSuite;
import org.junit.jupiter.api.BeforeEach;

/** The bf16 training suite (accumulation in bf16 equals one big bf16 step) on the GPU; skipped without a GPU. */
class CudnnBf16TrainingTest extends Bf16TrainingSuite {
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
