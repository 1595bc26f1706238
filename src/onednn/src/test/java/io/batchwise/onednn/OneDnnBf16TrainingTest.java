package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Precision;
import io.batchwise.models.Models;
import io.batchwise.reference.ReferenceBackend;
import io.batchwise.testkit.Bf16TrainingSuite;
import org.junit.jupiter.api.Test;

/** Training in bf16 mixed precision on oneDNN (the suite: accumulation over micro-batches equals one big batch). */
class OneDnnBf16TrainingTest extends Bf16TrainingSuite {
    private static final Backend BACKEND = new OneDnnBackend();

    @Override
    protected Backend backend() {
        return BACKEND;
    }

    @Override
    protected String bf16Unavailable() {
        return OneDnnBf16.refusal(OneDnnBf16.effectiveIsa());
    }

    /** The oracle refuses bf16 rather than emulate it (it is what bf16 is compared against). */
    @Test
    void referenceBackendRefusesBf16() {
        Graph g = Models.mlp();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ReferenceBackend().plan(g, 4,
                io.batchwise.backend.PlanOptions.forTraining().withPrecision(Precision.BF16_MIXED)));
        assertTrue(e.getMessage().contains("refuses") && e.getMessage().contains("onednn"), e.getMessage());
    }
}
