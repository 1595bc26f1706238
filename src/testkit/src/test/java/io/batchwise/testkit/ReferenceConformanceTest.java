package io.batchwise.testkit;

import io.batchwise.backend.Backend;
import io.batchwise.reference.ReferenceBackend;

/**
 * The reference backend in FLOAT32 (the suite's default type) against itself in FLOAT64: checks
 * the suite and that float32 rounding of every stored value stays within the tolerance.
 */
class ReferenceConformanceTest extends BackendConformanceSuite {
    private final Backend backend = new ReferenceBackend();

    @Override
    protected Backend backend() {
        return backend;
    }
}
