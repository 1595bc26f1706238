package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.ReLU;
import io.batchwise.models.Models;
import io.batchwise.train.InMemoryDataset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Dropout on W workers draws the masks of one process: each sample's mask is keyed by its position in the effective
 * batch, whichever worker holds it, so the weights after 20 Adam steps equal one process's to float32 summation order.
 */
class DropoutTest {

    /** An MLP with dropout between its layers. */
    static Graph mlpWithDropout() {
        return Graph.builder().input("x", Models.INPUT)
                .then("fc1", new Dense(64)).then("relu1", new ReLU()).then("drop1", new Dropout(0.5f))
                .then("fc2", new Dense(32)).then("relu2", new ReLU()).then("drop2", new Dropout(0.25f))
                .then("fc3", new Dense(10)).build();
    }

    /** The same MLP without dropout: to show that the masks matter. */
    static Graph mlpWithoutDropout() {
        return Graph.builder().input("x", Models.INPUT)
                .then("fc1", new Dense(64)).then("relu1", new ReLU())
                .then("fc2", new Dense(32)).then("relu2", new ReLU())
                .then("fc3", new Dense(10)).build();
    }

    @ParameterizedTest(name = "n {0}, W {1}, B {2}, b {3}")
    @CsvSource({
        "200, 2, 32, 8",
        // B = 25 not divisible by W x b = 12; a short last step of 10.
        "210, 3, 25, 4",
    })
    void dropoutOnWorkersEqualsOneProcess(int n, int workers, int batch, int micro) {
        InMemoryDataset data = LocalSpark.data(n, 5);
        int steps = 20;
        float[] one = LocalSpark.singleProcess(mlpWithDropout(), data, batch, micro, steps);
        float[] onePass = LocalSpark.singleProcess(mlpWithDropout(), data, batch, batch, steps);
        float[] noDropout = LocalSpark.singleProcess(mlpWithoutDropout(), data, batch, micro, steps);
        float[] spark;
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, workers);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), DropoutTest::mlpWithDropout, batch, micro).build()) {
            t.fit(sd, Integer.MAX_VALUE, steps);
            assertEquals(steps, t.step());
            spark = t.parameters().logicalValues();
        } finally {
            sd.unpersist();
        }
        double masks = LocalSpark.relativeDistance(noDropout, one);
        double d = LocalSpark.relativeDistance(spark, one);
        double d1 = LocalSpark.relativeDistance(spark, onePass);
        System.out.printf("dropout W=%d B=%d b=%d: vs one process %.3g, vs one pass %.3g (dropout itself moves the weights"
                + " by %.3g)%n", workers, batch, micro, d, d1, masks);
        assertTrue(masks > 1e-2, "dropout changed the weights by only " + masks);
        assertTrue(d <= 1e-5, "Spark with dropout vs one process: relative distance " + d);
        assertTrue(d1 <= 1e-5, "Spark with dropout vs one process in one pass: relative distance " + d1);
    }
}
