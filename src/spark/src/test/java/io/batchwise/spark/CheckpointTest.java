package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Backends;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.train.BatchSize;
import io.batchwise.train.CheckpointPolicy;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver checkpoints in the single-process format; a resumed run is the straight run, bit for bit, and a single
 * process resumes from it too.
 */
class CheckpointTest {

    @Test
    void resumeFromStepSevenEqualsAStraightRun(@TempDir Path dir) throws Exception {
        InMemoryDataset data = LocalSpark.data(100, 3);
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, 2);
        int batch = 16; // 7 steps per epoch (the last of 4): step 7 ends epoch 0
        try {
            float[] straight;
            try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::lenet, batch, 4).build()) {
                t.fit(sd, Integer.MAX_VALUE, 20);
                straight = t.parameters().logicalValues();
            }
            Path file = dir.resolve("run.ckpt");
            try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::lenet, batch, 4)
                    .checkpoints(CheckpointPolicy.to(file).everySteps(7).atEpochEnd(false)).build()) {
                t.fit(sd, Integer.MAX_VALUE, 9); // the policy writes at step 7; steps 8 and 9 are lost with the process
            }
            assertEquals(true, Files.exists(file));
            float[] resumed;
            try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::lenet, batch, 4).build()) {
                t.restore(file);
                assertEquals(7, t.step());
                t.fit(sd, Integer.MAX_VALUE, 20);
                assertEquals(20, t.step());
                resumed = t.parameters().logicalValues();
            }
            assertArrayEquals(straight, resumed);

            // The format is the single-process one: the step-7 checkpoint resumes in one process too.
            try (Trainer t = Trainer.builder(Models.lenet(), Backends.get("onednn")).loss(new SoftmaxCrossEntropy())
                    .optimizer(Optimizer.Adam.of(1e-3)).batch(BatchSize.mini(batch)).microBatch(4).seed(7).build()) {
                t.restore(file);
                t.fit(data, Integer.MAX_VALUE, 20);
                double d = LocalSpark.relativeDistance(t.parameters().logicalValues(), straight);
                assertTrue(d <= 1e-5, "single process from the Spark checkpoint vs the Spark run: " + d);
            }
        } finally {
            sd.unpersist();
        }
    }
}
