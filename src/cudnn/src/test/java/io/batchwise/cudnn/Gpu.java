package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import org.junit.jupiter.api.Assumptions;

/** The guard of the GPU-only tests: they run where the cudnn backend is available and are skipped, with the reason, elsewhere. */
final class Gpu {
    private Gpu() {
    }

    static void assumeAvailable() {
        Availability a = new CudnnBackend().availability();
        Assumptions.assumeTrue(a.available(), () -> "skipped: the cudnn backend cannot run here (" + a.reason()
                + "); src/cudnn/gpu-suite.sh runs these tests on a GPU machine");
    }
}
