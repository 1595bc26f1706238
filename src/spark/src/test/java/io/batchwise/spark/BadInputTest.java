package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Shape;
import io.batchwise.models.Models;
import io.batchwise.plan.Budget;
import io.batchwise.train.InMemoryDataset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Wrong data and settings fail with the partition or worker named, before anything is half-applied. */
class BadInputTest {

    @Test
    void aSampleOfTheWrongShapeIsNamedWithItsPartition() {
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Shape s = i == 17 ? Shape.of(1, 20, 20) : Models.INPUT;
            samples.add(Sample.of(s, new float[s.sizeAsInt()], i % 10));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SparkData.of(LocalSpark.context().parallelize(samples, 3), Models.INPUT, 2));
        // Global index 17 goes to partition 17 mod 2 = 1.
        assertTrue(e.getMessage().contains("partition 1: sample 17 has shape (1, 20, 20) but the data's samples have shape"
                + " (1, 28, 28)"), e.getMessage());
    }

    @Test
    void dataOfAnotherShapeThanTheGraphsInputIsRefused() {
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            samples.add(Sample.of(Shape.of(1, 8, 8), new float[64], 0));
        }
        SparkData sd = SparkData.of(LocalSpark.context().parallelize(samples, 2), Shape.of(1, 8, 8), 2);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, 4, 2).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.fit(sd, 1, 10));
            assertTrue(e.getMessage().contains("(1, 8, 8)") && e.getMessage().contains("(1, 28, 28)"), e.getMessage());
            assertEquals(0, t.step());
        } finally {
            sd.unpersist();
        }
    }

    @Test
    void aWorkerBudgetTooSmallForOneSampleNamesTheWorkerAndChangesNothing() {
        InMemoryDataset data = LocalSpark.data(40, 1);
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, 2);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, 8, 1).build();
             SparkTrainer small = SparkTrainer.builder(LocalSpark.context(), Models::mlp).backend("onednn")
                     .optimizer(io.batchwise.train.Optimizer.Adam.of(1e-3))
                     .batch(io.batchwise.train.BatchSize.mini(8)).memoryBudget(Budget.of(64 * 1024)).seed(7).build()) {
            float[] before = small.parameters().logicalValues();
            float[] state = small.parameters().state().toArray();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> small.fit(sd, 1, 3));
            String m = e.getMessage();
            assertTrue(m.startsWith("step 1 failed on the workers: step 1, partition "), m);
            // The worker (partition, executor, its share) and the bytes one sample needs against its budget.
            assertTrue(m.matches("(?s)step 1 failed on the workers: step 1, partition [01] \\(executor driver, [0-9]+ samples\\):"
                    + " a training step needs [0-9.]+ [KM]iB for one sample .* but the memory budget is 64\\.0 KiB.*"), m);
            assertEquals(0, small.step());
            assertArrayEquals(before, small.parameters().logicalValues());
            assertArrayEquals(state, small.parameters().state().toArray());
            // The same data trains with a micro-batch that fits (the failure was the budget's, not the data's).
            t.fit(sd, 1, 3);
            assertEquals(3, t.step());
        } finally {
            sd.unpersist();
        }
    }
}
