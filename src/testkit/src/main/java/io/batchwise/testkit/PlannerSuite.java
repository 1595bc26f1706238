package io.batchwise.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The memory planner against a backend's own byte accounting: what the planner predicts before
 * anything runs is what a training step then allocates, and the micro-batch it picks fits.
 */
public abstract class PlannerSuite {

    /** The backend under test. */
    protected abstract Backend backend();

    private static final Optimizer ADAM = Optimizer.Adam.of(1e-3);

    /** Peak bytes the backend tracked while a trainer was built and ran one step of {@code b} samples. */
    private long trackedPeak(Graph g, int b) {
        return trackedPeak(g, b, b);
    }

    /** The same for one effective batch of {@code big} samples in micro-batches of {@code b}. */
    private long trackedPeak(Graph g, int big, int b) {
        Backend be = backend();
        long before = be.memory().liveBytes();
        be.memory().resetPeak();
        InMemoryDataset d = TrainingSuite.data(Shape.of(1, 28, 28), big, 3);
        int[] idx = new int[big];
        for (int i = 0; i < big; i++) {
            idx[i] = i;
        }
        try (Trainer t = Trainer.builder(g, be).loss(new SoftmaxCrossEntropy()).optimizer(ADAM)
                .batch(BatchSize.mini(big)).microBatch(b).seed(1).build()) {
            t.trainBatch(d, idx, 0, big);
            t.evaluate(d); // evaluation runs on the same executors: no extra memory
        }
        assertEquals(before, be.memory().liveBytes(), "the trainer freed everything it allocated");
        return be.memory().peakBytes() - before;
    }

    private long predictedPeak(Graph g, int b) {
        try (Plan p = backend().plan(g, b, PlanOptions.forTraining())) {
            return MemoryPlanner.fixedBytes(backend().parameterLayout(g), DataType.FLOAT32, ADAM.stateSlots())
                    + p.memory().arena().bytes();
        }
    }

    static Stream<Arguments> modelsAndBatches() {
        List<Arguments> a = new ArrayList<>();
        for (String m : List.of("mlp", "lenet", "resnet-small")) {
            for (int b : new int[] {1, 32, 256}) {
                a.add(Arguments.of(m, b));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0} at b = {1}")
    @MethodSource("modelsAndBatches")
    void predictedPeakIsWithinTenPercentOfTheTrackedPeak(String model, int b) {
        Graph g = Models.byName(model);
        long predicted = predictedPeak(g, b);
        long tracked = trackedPeak(g, b);
        double err = Math.abs(predicted - tracked) / (double) tracked;
        assertTrue(err <= 0.10, String.format("%s b=%d: predicted %,d, tracked %,d bytes (%.1f%%)", model, b, predicted,
                tracked, 100 * err));
    }

    /** A short last micro-batch (100 = 64 + 36) is carved from the full micro-batch's arena: no extra bytes. */
    @Test
    void aShortLastMicroBatchCostsNothingExtra() {
        Graph g = Models.lenet();
        long predicted = predictedPeak(g, 64);
        long tracked = trackedPeak(g, 100, 64);
        assertTrue(Math.abs(predicted - tracked) <= 0.10 * tracked,
                String.format("predicted %,d, tracked %,d bytes", predicted, tracked));
    }

    static Stream<Arguments> budgets() {
        List<Arguments> a = new ArrayList<>();
        for (String m : List.of("lenet", "resnet-small")) {
            for (int mib : new int[] {8, 32, 128}) {
                a.add(Arguments.of(m, mib));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0} in {1} MiB")
    @MethodSource("budgets")
    void chosenMicroBatchFitsAndTheNextDoesNot(String model, int mib) {
        Graph g = Models.byName(model);
        Budget budget = Budget.of(mib * (1L << 20));
        int big = 4096;
        MemoryPlanner.Decision d = MemoryPlanner.plan(backend(), g, ADAM.stateSlots(), big, budget);
        assertTrue(d.microBatch() >= 1 && d.microBatch() <= big);
        assertEquals((big + d.microBatch() - 1) / d.microBatch(), d.accumulationSteps());
        assertEquals(predictedPeak(g, d.microBatch()), d.predictedPeakBytes());
        assertTrue(d.predictedPeakBytes() <= budget.bytes());
        if (d.microBatch() < big) {
            assertTrue(predictedPeak(g, d.microBatch() + 1) > budget.bytes(), "b + 1 would fit too: " + d.table());
        }
        long tracked = trackedPeak(g, d.microBatch());
        assertTrue(tracked <= budget.bytes(), String.format("tracked %,d bytes over the budget of %,d at b = %d",
                tracked, budget.bytes(), d.microBatch()));
        assertTrue(d.table().contains("predicted peak"), d.table());
    }

    @Test
    void aBudgetTooSmallForOneSampleSaysHowMuchIsNeeded() {
        Graph g = Models.lenet();
        var e = assertThrows(MemoryPlanner.InsufficientMemoryException.class,
                () -> MemoryPlanner.plan(backend(), g, ADAM.stateSlots(), 64, Budget.of(100_000)));
        assertTrue(e.neededBytes() > 100_000);
        assertEquals(100_000, e.availableBytes());
        assertTrue(e.getMessage().contains("for one sample") && e.getMessage().contains("97.7 KiB"), e.getMessage());
    }

    @Test
    void trainerPlansItsOwnMicroBatch() {
        Graph g = Models.mlp();
        InMemoryDataset d = TrainingSuite.data(Shape.of(1, 28, 28), 300, 4);
        try (Trainer t = Trainer.builder(g, backend()).loss(new SoftmaxCrossEntropy()).optimizer(ADAM)
                .batch(BatchSize.full()).memoryBudget(Budget.of(4L << 20)).seed(1).build()) {
            MemoryPlanner.Decision dec = t.plan(d.size()).orElseThrow();
            assertEquals(dec.microBatch(), t.microBatch());
            assertTrue(dec.microBatch() < 300, "4 MiB should not hold all 300 samples: " + dec.table());
            assertEquals(dec.accumulationSteps(), t.accumulationSteps(d.size()));
            t.fit(d, 1, Long.MAX_VALUE);
            assertEquals(1, t.step());
        }
    }
}
