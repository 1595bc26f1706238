package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.loss.MeanSquaredError;
import io.batchwise.train.Advisor;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import org.junit.jupiter.api.Test;

/**
 * {@link Advisor} on the regression whose B_simple is 13 at the weights the probe holds (learning rate
 * 0 keeps w = 0). Trainer-level tests live here, in the module that has backends on its class path.
 */
class AdvisorTrainingTest {

    private static Advisor.Builder advisor(double lr) {
        return Advisor.builder(Regression.model(), Regression.backend()).loss(new MeanSquaredError())
                .optimizer(Optimizer.Sgd.plain(lr)).seed(3).noiseScaleDecay(0.995).maxSeconds(600);
    }

    /** Probe steps of 32 split into two halves of 16 (micro-batch 32 = the batch: k = 1). */
    @Test
    void recommendsAroundTheAnalyticNoiseScaleFromSplitSteps() {
        InMemoryDataset d = Regression.data(40_000, 1);
        Advisor.Result r = advisor(0).batch(32).microBatch(32).maxSteps(1250).advise(d);
        assertEquals(1250, r.probeSteps());
        assertEquals(1250, r.measurements());
        assertEquals(16, r.probeMicroBatch());
        assertTrue(Math.abs(r.noiseScale() - 13) <= 0.2 * 13, "B_simple " + r.noiseScale() + ", analytic 13");
        // 13 is below the micro-batch: rounded to a multiple of 8 (8 or 16 within the 20%), one pass
        assertEquals(Advisor.recommend(r.noiseScale(), 32, 40_000), r.recommendedBatch());
        assertTrue(r.recommendedBatch() == 8 || r.recommendedBatch() == 16, "recommended " + r.recommendedBatch());
        assertEquals(r.recommendedBatch(), r.recommendedMicroBatch());
        assertEquals(1, r.accumulationSteps());
        assertEquals(0, r.learningRate()); // 0 x B / 32
        assertEquals(0, r.warmupSteps()); // not scaled up: the recommendation is below the probe batch
        assertTrue(r.reasoning().stream().anyMatch(l -> l.contains("B_simple")), r.reasoning().toString());
    }

    /** Probe steps of 32 in 8 micro-batches of 4: B_simple >= the micro-batch, so a multiple of it, lr scaled linearly. */
    @Test
    void roundsToTheMicroBatchAndScalesTheLearningRate() {
        InMemoryDataset d = Regression.data(40_000, 2);
        Advisor.Result r = advisor(0).batch(32).microBatch(4).maxSteps(1250).advise(d);
        assertEquals(4, r.probeMicroBatch());
        assertTrue(Math.abs(r.noiseScale() - 13) <= 0.2 * 13, "B_simple " + r.noiseScale() + ", analytic 13");
        assertEquals(0, r.recommendedBatch() % 4);
        assertTrue(r.recommendedBatch() >= 12 && r.recommendedBatch() <= 16, "recommended " + r.recommendedBatch());
        assertEquals(r.recommendedBatch() / 4, r.accumulationSteps());

        Advisor.Result s = advisor(0.01).batch(8).microBatch(4).maxSteps(300).advise(d);
        assertEquals(0.01 * s.recommendedBatch() / 8, s.learningRate(), 1e-12, "linear scaling from the probe batch");
        if (s.recommendedBatch() > 8) {
            assertEquals((40_000 + s.recommendedBatch() - 1) / s.recommendedBatch(), s.warmupSteps(), "one epoch of warm-up");
        }
    }

    @Test
    void deterministicWhenBoundedBySteps() {
        InMemoryDataset d = Regression.data(4_000, 4);
        Advisor.Result a = advisor(0.01).batch(16).microBatch(16).maxSteps(100).advise(d);
        Advisor.Result b = advisor(0.01).batch(16).microBatch(16).maxSteps(100).advise(d);
        assertEquals(a.noiseScale(), b.noiseScale(), 0);
        assertEquals(a.recommendedBatch(), b.recommendedBatch());
    }

    /** The probe trains with the run's settings: bf16 reaches its plans, and the reference backend refuses it by name. */
    @Test
    void theProbeTrainsWithTheGivenPrecision() {
        InMemoryDataset d = Regression.data(1_000, 4);
        var e = assertThrows(RuntimeException.class, () -> advisor(0).batch(8).microBatch(8).maxSteps(3)
                .precision(io.batchwise.backend.Precision.BF16_MIXED).advise(d));
        assertTrue(e.getMessage().contains("bf16"), e.getMessage());
        assertEquals(3, advisor(0).batch(8).microBatch(8).maxSteps(3).advise(d).probeSteps()); // float32: runs
    }

    @Test
    void missingSettingsAndTinyBatchesAreRefused() {
        InMemoryDataset d = Regression.data(100, 4);
        var e = assertThrows(IllegalStateException.class, () -> Advisor.builder(Regression.model(), Regression.backend())
                .loss(new MeanSquaredError()).batch(8).advise(d));
        assertTrue(e.getMessage().contains("optimizer") && e.getMessage().contains("microBatch or memoryBudget"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> advisor(0).batch(1));
    }
}
