package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.testkit.BackendConformanceSuite;

/**
 * The conformance suite against this backend's planner, programs and executor on the plain-Java
 * {@link SimulatedDevice}: every layer's ops, buffers, arena offsets, gradient blending (first
 * contribution overwrites, later ones add; parameter gradients by mode), aliases and kernel launch
 * arguments, checked on every machine. The GPU run of the same suite is {@link CudnnConformanceTest}.
 */
class SimulatedConformanceTest extends BackendConformanceSuite {
    static final SimulatedDevice DEVICE = new SimulatedDevice();
    private static final Backend BACKEND = new CudnnBackend(() -> DEVICE, () -> Availability.yes(DEVICE.describe()));

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
