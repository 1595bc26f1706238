package io.batchwise.cudnn;

import io.batchwise.backend.Backend;
import org.junit.jupiter.api.BeforeEach;

/** The bf16 conformance suite ({@link CudnnBf16Conformance}) on the GPU, through cuDNN and cuBLAS; skipped without a GPU. */
class CudnnBf16ConformanceTest extends CudnnBf16Conformance {
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
