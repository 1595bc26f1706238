package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.testkit.Bf16TrainingSuite;

/**
 * Training in bf16 mixed precision on this backend's bf16 programs over the plain-Java {@link SimulatedDevice}:
 * accumulation over micro-batches (the bf16 weight gradients converted and added into float32 by mode) equals one
 * big batch within 4 u, and the bf16 step is the float32 one up to rounding.
 */
class SimulatedBf16TrainingTest extends Bf16TrainingSuite {
    private static final SimulatedDevice DEVICE = new SimulatedDevice();
    private static final Backend BACKEND = new CudnnBackend(() -> DEVICE, () -> Availability.yes(DEVICE.describe()));

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
