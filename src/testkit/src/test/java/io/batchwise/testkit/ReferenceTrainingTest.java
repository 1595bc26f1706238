package io.batchwise.testkit;

import io.batchwise.backend.Backend;
import io.batchwise.reference.ReferenceBackend;

class ReferenceTrainingTest extends TrainingSuite {
    private static final Backend BACKEND = new ReferenceBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
