package io.batchwise.cudnn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.BackendConformanceSuite;
import org.junit.jupiter.api.BeforeEach;

/** The backend conformance suite on the GPU against the reference backend (FLOAT32, 1e-4 relative); skipped without a GPU. */
class CudnnConformanceTest extends BackendConformanceSuite {
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
