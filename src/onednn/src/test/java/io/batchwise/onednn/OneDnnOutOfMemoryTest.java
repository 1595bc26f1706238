package io.batchwise.onednn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.OutOfMemorySuite;

/** Recovery from out-of-memory failures on the oneDNN backend. */
class OneDnnOutOfMemoryTest extends OutOfMemorySuite {
    private static final Backend BACKEND = new OneDnnBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
