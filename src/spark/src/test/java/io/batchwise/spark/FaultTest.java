package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Parameters;
import io.batchwise.models.Models;
import io.batchwise.train.InMemoryDataset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Spark's task retry redoes a step whole; replicas that disagree with the driver stop the run at that step. */
class FaultTest {
    private static final int N = 120;
    private static final int BATCH = 24;
    private static final int MICRO = 6;
    private static InMemoryDataset data;
    private static SparkData sd;
    /** Hooks run in the driver's JVM in local mode; they count here what they did. */
    static final AtomicInteger FAILED = new AtomicInteger();
    static final AtomicInteger CORRUPTED = new AtomicInteger();

    @BeforeAll
    static void data() {
        data = LocalSpark.data(N, 5);
        sd = SparkData.parallelize(LocalSpark.context(), data, 2);
    }

    @AfterAll
    static void free() {
        sd.unpersist();
    }

    /** Weights after {@code steps} steps with {@code hook} in the tasks. */
    private static float[] run(long steps, TaskHook hook) {
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, BATCH, MICRO).hook(hook).build()) {
            t.fit(sd, Integer.MAX_VALUE, steps);
            assertEquals(steps, t.step());
            return t.parameters().logicalValues();
        }
    }

    /** Fails partition 1's first attempt at step 5 after it computed its gradients (its worker's buffers dirty). */
    static final class FailOnce implements TaskHook {
        @Override
        public void afterGradients(long step, int partition, int attempt) {
            if (step == 5 && partition == 1 && attempt == 0) {
                FAILED.incrementAndGet();
                throw new IllegalStateException("task failed on purpose");
            }
        }
    }

    @Test
    void aFailedTaskIsRetriedAndTheRunIsUnchanged() {
        float[] clean = run(20, null);
        FAILED.set(0);
        float[] retried = run(20, new FailOnce());
        assertEquals(1, FAILED.get(), "the hook failed one task attempt");
        assertArrayEquals(clean, retried, "weights after a retried step differ from the clean run's");
    }

    /** Changes one weight in partition 0's worker after it loaded step 11's weights: a replica that diverged. */
    static final class Corrupt implements TaskHook {
        @Override
        public void afterLoad(long step, int partition, int attempt, Parameters worker) {
            if (step == 11 && partition == 0) {
                CORRUPTED.incrementAndGet();
                float[] b = worker.read("fc3", "bias");
                b[0] += 1e-3f;
                worker.write("fc3", "bias", b);
            }
        }
    }

    @Test
    void aDivergedReplicaStopsTheRunAtThatStep() {
        float[] atTen = run(10, null);
        CORRUPTED.set(0);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, BATCH, MICRO).verifyEvery(10)
                .hook(new Corrupt()).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.fit(sd, Integer.MAX_VALUE, 20));
            assertTrue(e.getMessage().contains("replicas diverged at step 11: partition 0"), e.getMessage());
            assertEquals(2, CORRUPTED.get(), "both attempts of the task saw step 11"); // Spark retried it once
            assertEquals(10, t.step());
            assertArrayEquals(atTen, t.parameters().logicalValues(), "the driver's weights are those of step 10");
        }
    }

    @Test
    void withoutTheCheckTheSameCorruptionGoesUnnoticed() {
        // The check above is what catches it: with verification off the corrupted step is taken.
        CORRUPTED.set(0);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, BATCH, MICRO).verifyEvery(0)
                .hook(new Corrupt()).build()) {
            t.fit(sd, Integer.MAX_VALUE, 12);
            assertEquals(12, t.step());
            assertEquals(1, CORRUPTED.get());
        }
    }
}
