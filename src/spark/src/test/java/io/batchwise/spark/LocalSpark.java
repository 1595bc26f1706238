package io.batchwise.spark;

import io.batchwise.Graph;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Precision;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.SplittableRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** The test suite's Spark context (one per JVM at a time, as Spark allows), its data and its reference runs. */
final class LocalSpark {
    /** Two task slots; a task may fail twice before its job does (retries for the fault tests). */
    static final String MASTER = "local[2,2]";
    private static JavaSparkContext current;
    private static String currentMaster;

    private LocalSpark() {
    }

    /** The context for {@code master}, made on first use; a context for another master is stopped first. */
    static synchronized JavaSparkContext context(String master) {
        return context(master, new SparkConf());
    }

    static synchronized JavaSparkContext context(String master, SparkConf extra) {
        if (current != null && master.equals(currentMaster)) {
            return current;
        }
        stop();
        SparkConf conf = extra.clone().setMaster(master).setAppName("batchwise-spark-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1");
        current = new JavaSparkContext(conf);
        currentMaster = master;
        return current;
    }

    static JavaSparkContext context() {
        return context(MASTER);
    }

    static synchronized void stop() {
        if (current != null) {
            current.stop();
            current = null;
            currentMaster = null;
        }
    }

    /**
     * {@code n} Fashion-MNIST-shaped samples (1, 28, 28) of 10 classes: class {@code c} lights rows
     * {@code 2c .. 2c + 3} over uniform noise, so a few steps of training move the loss.
     */
    static InMemoryDataset data(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int per = 28 * 28;
        float[] x = new float[n * per];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(10);
            for (int j = 0; j < per; j++) {
                int row = j / 28;
                x[i * per + j] = (float) r.nextDouble(0, 0.5) + (row >= 2 * y[i] && row < 2 * y[i] + 4 ? 1f : 0f);
            }
        }
        return InMemoryDataset.labelled(x, Models.INPUT, y);
    }

    /** The single-process run a Spark run must equal: Adam 1e-3, seed 7, {@code steps} steps, logical weights. */
    static float[] singleProcess(Graph graph, InMemoryDataset data, int batch, int microBatch, long steps) {
        return singleProcess(graph, data, batch, microBatch, steps, Precision.FLOAT32);
    }

    static float[] singleProcess(Graph graph, InMemoryDataset data, int batch, int microBatch, long steps,
                                 Precision precision) {
        try (Trainer t = Trainer.builder(graph, Backends.get("onednn")).precision(precision)
                .loss(new SoftmaxCrossEntropy())
                .optimizer(Optimizer.Adam.of(1e-3))
                .batch(BatchSize.mini(batch))
                .microBatch(microBatch)
                .seed(7)
                .build()) {
            t.fit(data, Integer.MAX_VALUE, steps);
            return t.parameters().logicalValues();
        }
    }

    /** A Spark trainer with the settings of {@link #singleProcess}. */
    static SparkTrainer.Builder spark(JavaSparkContext sc, GraphFactory graph, int batch, int microBatch) {
        return SparkTrainer.builder(sc, graph)
                .backend("onednn")
                .optimizer(Optimizer.Adam.of(1e-3))
                .batch(BatchSize.mini(batch))
                .microBatch(microBatch)
                .seed(7);
    }

    /** ||a - b|| / ||b||, L2. */
    static double relativeDistance(float[] a, float[] b) {
        double d = 0;
        double n = 0;
        for (int i = 0; i < a.length; i++) {
            d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
            n += (double) b[i] * b[i];
        }
        return Math.sqrt(d / n);
    }
}
