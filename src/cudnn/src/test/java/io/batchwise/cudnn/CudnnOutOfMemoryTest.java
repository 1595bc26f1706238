package io.batchwise.cudnn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.OutOfMemorySuite;
import org.junit.jupiter.api.BeforeEach;

/** Recovery from out-of-memory failures on the GPU; skipped without one. */
class CudnnOutOfMemoryTest extends OutOfMemorySuite {
    private static final Backend BACKEND = new CudnnBackend();

    @BeforeEach
    void gpu() {
        Gpu.assumeAvailable();
    }

    @Override
    protected Backend backend() {
        return BACKEND;
    }

    /** Not built for cuDNN yet (see CudnnTrainingTest). */
    @Override
    protected boolean exactBatchNorm() {
        return false;
    }
}
