package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.backend.Backends;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Dense;
import io.batchwise.layer.ReLU;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import org.junit.jupiter.api.Test;

/**
 * BatchNorm under Spark: ghost statistics over each worker's micro-batches; the driver keeps the workers' running
 * statistics averaged with their sample counts as weights.
 */
class BatchNormTest {

    static Graph graph() {
        return Graph.builder().input("x", Models.INPUT)
                .then("fc1", new Dense(16)).then("bn", new BatchNorm()).then("relu", new ReLU())  // (16)
                .then("fc2", new Dense(10))                                                         // (10)
                .build();
    }

    /** Weights and running statistics (logical order) of a single-process run. */
    private static float[][] single(InMemoryDataset data, int batch, int micro, long steps) {
        try (Trainer t = Trainer.builder(graph(), Backends.get("onednn")).loss(new SoftmaxCrossEntropy())
                .optimizer(Optimizer.Adam.of(1e-3)).batch(BatchSize.mini(batch)).microBatch(micro).seed(7).build()) {
            t.fit(data, Integer.MAX_VALUE, steps);
            return new float[][] {t.parameters().logicalValues(), t.parameters().state().toArray(),
                    t.parameters().read("bn", "runningMean")};
        }
    }

    private static float[][] spark(InMemoryDataset data, int workers, int batch, int micro, long steps) {
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, workers);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), BatchNormTest::graph, batch, micro).build()) {
            t.fit(sd, Integer.MAX_VALUE, steps);
            return new float[][] {t.parameters().logicalValues(), t.parameters().state().toArray(),
                    t.parameters().read("bn", "runningMean")};
        } finally {
            sd.unpersist();
        }
    }

    @Test
    void oneWorkerIsOneProcessStatisticsIncluded() {
        InMemoryDataset data = LocalSpark.data(60, 2);
        float[][] one = single(data, 20, 5, 10);
        float[][] spark = spark(data, 1, 20, 5, 10);
        double dw = LocalSpark.relativeDistance(spark[0], one[0]);
        double ds = LocalSpark.relativeDistance(spark[1], one[1]);
        assertTrue(dw <= 1e-6 && ds <= 1e-6, "weights " + dw + ", running statistics " + ds);
    }

    @Test
    void runningMeanIsTheSampleWeightedAverageOfTheWorkers() {
        // One pass per worker (b = B): each worker's running mean is 0.9 r + 0.1 mean(its share), so their average
        // weighted by share size is 0.9 r + 0.1 mean(batch), one process's single pass. B = 25 over 2 workers: the
        // shares are uneven, where an unweighted average would differ.
        InMemoryDataset data = LocalSpark.data(50, 4);
        float[][] one = single(data, 25, 25, 1);
        float[][] spark = spark(data, 2, 25, 25, 1);
        double d = LocalSpark.relativeDistance(spark[2], one[2]);
        assertTrue(d <= 1e-6, "running mean after one step: relative distance " + d);
    }
}
