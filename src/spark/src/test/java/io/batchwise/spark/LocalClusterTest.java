package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.models.Models;
import io.batchwise.train.InMemoryDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Executors in separate JVMs: Spark's {@code local-cluster[2,1,1024]} starts a standalone master and two workers in
 * this JVM, and each worker an executor process, so the tasks, the broadcast weights, the returned gradients and the
 * native libraries cross real process boundaries. The workers' launcher needs a Spark home only for its {@code jars/}
 * folder and the Scala version (surefire sets SPARK_HOME to an empty one here and SPARK_SCALA_VERSION); the
 * executors' class path is this JVM's ({@code spark.executor.extraClassPath}).
 */
class LocalClusterTest {

    @AfterAll
    static void back() {
        LocalSpark.stop(); // the next class makes the local[2,2] context again
    }

    @Test
    void twoExecutorProcessesTrainAsOneProcess() throws Exception {
        String home = System.getenv("SPARK_HOME");
        Files.createDirectories(Path.of(home, "jars"));
        SparkConf conf = new SparkConf()
                .set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .set("spark.executor.extraJavaOptions", System.getProperty("spark.java.options", "").replaceAll("\\s+", " "))
                .set("spark.executor.memory", "512m")
                .setExecutorEnv("OMP_NUM_THREADS", "1");
        JavaSparkContext sc = LocalSpark.context("local-cluster[2,1,1024]", conf);

        // Two executors, neither of them this process.
        List<Long> pids = sc.parallelize(List.of(0, 1, 2, 3), 4)
                .map(i -> {
                    Thread.sleep(200); // keep the first executor busy so the second takes tasks too
                    return ProcessHandle.current().pid();
                }).collect();
        Set<Long> executors = new HashSet<>(pids);
        assertEquals(2, executors.size(), "executor processes: " + executors);
        assertTrue(!executors.contains(ProcessHandle.current().pid()));

        InMemoryDataset data = LocalSpark.data(96, 9);
        int steps = 8;
        float[] one = LocalSpark.singleProcess(Models.mlp(), data, 24, 6, steps);
        SparkData sd = SparkData.parallelize(sc, data, 2);
        SparkTrainer t = LocalSpark.spark(sc, Models::mlp, 24, 6).verifyEvery(1).build();
        String run = t.runId();
        try {
            float[] initial = t.parameters().logicalValues();
            t.fit(sd, Integer.MAX_VALUE, steps);
            float[] spark = t.parameters().logicalValues();
            assertNotEquals(0, LocalSpark.relativeDistance(spark, initial));
            double d = LocalSpark.relativeDistance(spark, one);
            System.out.printf("local-cluster: 2 executor JVMs, vs one process %.3g%n", d);
            assertTrue(d <= 1e-5, "relative distance " + d);
            // Each executor holds its partition's worker trainer; none in this JVM.
            assertEquals(List.of(1, 1), sd.shards().map(s -> Workers.open(run)).collect());
            assertEquals(0, Workers.open(run));
        } finally {
            t.close();
        }
        // close() ran the cleanup job where the shards (and so the workers) live.
        assertEquals(List.of(0, 0), sd.shards().map(s -> Workers.open(run)).collect());
        sd.unpersist();
    }
}
