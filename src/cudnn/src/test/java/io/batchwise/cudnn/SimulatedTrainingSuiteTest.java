package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.testkit.TrainingSuite;

/**
 * The trainer's guarantees (accumulation equals one big batch, exact and ghost BatchNorm, the gradient norm
 * and clipping, the noise scale, recovery from allocation failures, determinism, checkpoints) on this
 * backend's planner, executor and optimizer kernels over the plain-Java {@link SimulatedDevice}. The GPU run
 * of the same suite is {@link CudnnTrainingTest}.
 */
class SimulatedTrainingSuiteTest extends TrainingSuite {
    private static final SimulatedDevice DEVICE = new SimulatedDevice();
    private static final Backend BACKEND = new CudnnBackend(() -> DEVICE, () -> Availability.yes(DEVICE.describe()));

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
