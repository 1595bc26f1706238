package io.batchwise.testkit;

import io.batchwise.backend.Backend;
import io.batchwise.reference.ReferenceBackend;

/** Recovery from out-of-memory failures on the reference backend. */
class ReferenceOutOfMemoryTest extends OutOfMemorySuite {
    private static final Backend BACKEND = new ReferenceBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
