package io.batchwise.onednn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.TrainingSuite;

/** The trainer's guarantees (exact accumulation, determinism, regimes, checkpoints) on the oneDNN backend. */
class OneDnnTrainingTest extends TrainingSuite {
    private static final Backend BACKEND = new OneDnnBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
