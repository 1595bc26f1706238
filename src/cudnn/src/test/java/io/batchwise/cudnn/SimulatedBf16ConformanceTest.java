package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;

/**
 * The bf16 conformance suite ({@link CudnnBf16Conformance}) on the plain-Java {@link SimulatedDevice}: every layer's bf16
 * program (the conversions of inputs, weight and bias copies, output stage and weight gradients; the bf16 kernel
 * twins; cuDNN's and cuBLAS's calls over bf16 buffers, rounding their float32 results to nearest even as the
 * library's output stage does). What it cannot check is that cuDNN runs each bf16 configuration on a device:
 * {@link CudnnBf16ConformanceTest} does, on a GPU.
 */
class SimulatedBf16ConformanceTest extends CudnnBf16Conformance {
    private static final SimulatedDevice DEVICE = new SimulatedDevice();
    private static final Backend BACKEND = new CudnnBackend(() -> DEVICE, () -> Availability.yes(DEVICE.describe()));

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
