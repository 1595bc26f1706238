package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.batchwise.models.Models;
import io.batchwise.train.CheckpointPolicy;
import io.batchwise.train.InMemoryDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The driver checkpoints in the single-process format; a resumed run is the straight run, bit for bit. */
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
        } finally {
            sd.unpersist();
        }
    }
}
