package io.batchwise.onednn;

import io.batchwise.backend.Backend;
import io.batchwise.testkit.PlannerSuite;

/** The memory planner's predictions against what the oneDNN backend really allocates. */
class OneDnnPlannerTest extends PlannerSuite {
    private static final Backend BACKEND = new OneDnnBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }
}
