package io.batchwise.onednn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.BackendConformanceSuite;

/** The backend conformance suite against the oneDNN backend (FLOAT32, tolerance 1e-4 relative). */
class OneDnnConformanceTest extends BackendConformanceSuite {
    private static final Backend BACKEND = new OneDnnBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
