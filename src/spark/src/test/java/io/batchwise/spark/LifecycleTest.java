package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.models.Models;
import io.batchwise.train.InMemoryDataset;
import org.junit.jupiter.api.Test;

/** Worker trainers: one per partition, kept between steps, closed by the trainer's close (local mode: this JVM). */
class LifecycleTest {

    @Test
    void workersAreMadeOncePerPartitionAndClosedWithTheTrainer() {
        InMemoryDataset data = LocalSpark.data(48, 6);
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, 3);
        SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, 24, 8).build();
        try {
            assertEquals(0, Workers.open(t.runId()));
            t.fit(sd, Integer.MAX_VALUE, 4);
            assertEquals(3, Workers.open(t.runId()));
            String report = t.report(sd);
            assertTrue(report.contains("effective batch 24 over 3 workers") && report.contains("micro-batch 8 per worker"), report);
        } finally {
            t.close();
            sd.unpersist();
        }
        assertEquals(0, Workers.open(t.runId()));
    }
}
