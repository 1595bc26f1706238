package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.batchwise.backend.Backends;
import io.batchwise.cli.Main;
import io.batchwise.cli.TrainEngine;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.train.BatchSize;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code batchwise train --spark} entry point ({@link SparkTrain}) against the single-process command with the same
 * flags, on the first 600 samples of the real Fashion-MNIST (skipped without the data, a failure under CI): the same
 * files, the same metrics.csv header, the same final checkpoint up to float32 summation order.
 */
class SparkTrainTest {
    private static final Path DATA = Path.of(System.getenv().getOrDefault("BATCHWISE_DATA", "/usr/share/datasets/fashion-mnist"));

    @TempDir
    Path tmp;

    @BeforeEach
    void ownContext() {
        LocalSpark.stop(); // the entry point makes its own context; Spark allows one per JVM
        System.setProperty("spark.ui.enabled", "false");
    }

    @AfterEach
    void clear() {
        System.clearProperty("spark.ui.enabled");
        System.clearProperty(SparkTrain.CONNECT_TIMEOUT);
    }

    private static void dataOrSkip() {
        boolean present = Files.isRegularFile(DATA.resolve("train-images-idx3-ubyte.gz"))
                || Files.isRegularFile(DATA.resolve("train-images-idx3-ubyte"));
        if (!present && System.getenv("CI") != null) {
            throw new AssertionError("Fashion-MNIST is not in " + DATA + " (required under CI)");
        }
        Assumptions.assumeTrue(present, "Fashion-MNIST is not in " + DATA + ": skipping");
    }

    record Run(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- out\n" + out + "\n--- err\n" + err;
        }
    }

    private static Run run(TrainEngine engine, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(SparkTrain.trainArgs(args), engine, new PrintWriter(out, true), new PrintWriter(err, true), false);
        return new Run(code, out.toString(), err.toString());
    }

    private List<String> flags(Path out) {
        // 600 samples, B = 96 (7 steps an epoch, the last of 24), micro-batch 16 per worker; stop at step 9 in epoch 2.
        return new ArrayList<>(List.of("--model", "mlp", "--data", DATA.toString(), "--train-limit", "600", "--batch", "96",
                "--micro-batch", "16", "--epochs", "2", "--steps", "9", "--optimizer", "adam", "--backend", "onednn",
                "--seed", "3", "--checkpoint-minutes", "0", "--out", out.toString()));
    }

    @Test
    void sparkRunWritesTheSingleProcessFilesAndItsCheckpoint() throws IOException {
        dataOrSkip();
        Path one = tmp.resolve("one");
        Path spark = tmp.resolve("spark");
        Run single = run(TrainEngine.LOCAL, flags(one).toArray(String[]::new));
        assertEquals(0, single.code(), single.toString());
        List<String> sparkFlags = flags(spark);
        sparkFlags.addAll(List.of("--spark", "local[2]"));
        Run onSpark = run(new SparkTrain.Engine(), sparkFlags.toArray(String[]::new));
        assertEquals(0, onSpark.code(), onSpark.toString());

        assertTrue(onSpark.out().contains("spark       master local[2], 1 executor(s), 2 workers"), onSpark.out());
        assertTrue(onSpark.out().contains("over 2 workers"), "plan.txt's report:\n" + onSpark.out());
        assertTrue(onSpark.err().contains("train 100%") && onSpark.err().contains("on 2 workers"), "progress:\n" + onSpark.err());
        assertFalse(single.err().contains("workers"), "one process shows no workers:\n" + single.err());
        for (String f : new String[] {"metrics.csv", "epochs.csv", "plan.txt", "summary.json", "training.png", "last.ckpt",
                "model.bw"}) {
            assertTrue(Files.isRegularFile(spark.resolve(f)) && Files.size(spark.resolve(f)) > 0, "the Spark run wrote no " + f);
        }
        List<String> m1 = Files.readAllLines(one.resolve("metrics.csv"));
        List<String> m2 = Files.readAllLines(spark.resolve("metrics.csv"));
        assertEquals(m1.get(0), m2.get(0), "metrics.csv header");
        assertEquals(1 + 9, m2.size(), "one row per step");
        assertEquals(Files.readAllLines(one.resolve("epochs.csv")).get(0), Files.readAllLines(spark.resolve("epochs.csv")).get(0));
        // Where each step's time went: spark.csv, one row per step, the parts within the step's time.
        List<String> times = Files.readAllLines(spark.resolve("spark.csv"));
        assertEquals(SparkTrain.StepLog.HEADER, times.get(0));
        assertEquals(1 + 9, times.size());
        for (String row : times.subList(1, times.size())) {
            double[] v = Arrays.stream(row.split(",")).mapToDouble(Double::parseDouble).toArray();
            assertTrue(v[1] == 2 && v[2] > 0 && v[5] >= 0 && v[5] <= v[4] && v[7] > 0 && v[4] <= v[2], row);
        }
        // The same losses step by step (column "loss"), to float32 summation order.
        int loss = Arrays.asList(m1.get(0).split(",")).indexOf("loss");
        for (int i = 1; i < m1.size(); i++) {
            double a = Double.parseDouble(m1.get(i).split(",")[loss]);
            double b = Double.parseDouble(m2.get(i).split(",")[loss]);
            assertEquals(a, b, 1e-5 * Math.abs(a), "loss of step " + i);
        }
        JsonNode s1 = new ObjectMapper().readTree(one.resolve("summary.json").toFile());
        JsonNode s2 = new ObjectMapper().readTree(spark.resolve("summary.json").toFile());
        assertEquals(2, s2.get("workers").asInt());
        assertEquals(9, s2.get("steps").asInt());
        for (var it = s1.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            assertTrue(s2.has(key), "summary.json of the Spark run lacks " + key);
        }
        assertEquals(s1.get("test_accuracy").asDouble(), s2.get("test_accuracy").asDouble(), 2e-3);

        // The final checkpoints: weights within 1e-5 relative (the sums' order is the only difference), same position.
        float[][] w = new float[2][];
        long[] steps = new long[2];
        Path[] ckpts = {one.resolve("last.ckpt"), spark.resolve("last.ckpt")};
        for (int i = 0; i < 2; i++) {
            try (Trainer t = Trainer.builder(Models.mlp(), Backends.get("onednn")).loss(new SoftmaxCrossEntropy())
                    .optimizer(Optimizer.Adam.of(1e-3)).batch(BatchSize.mini(96)).microBatch(16).seed(3).build()) {
                t.restore(ckpts[i]);
                w[i] = t.parameters().logicalValues();
                steps[i] = t.step();
            }
        }
        assertEquals(9, steps[0]);
        assertEquals(steps[0], steps[1]);
        double d = LocalSpark.relativeDistance(w[1], w[0]);
        System.out.printf("SparkTrain local[2] vs one process, 9 steps: final checkpoint weights differ by %.3g relative%s%n", d,
                Arrays.equals(w[0], w[1]) ? " (bitwise equal)" : "");
        assertTrue(d <= 1e-5, "checkpoint weights: relative distance " + d);
    }

    @Test
    void flagsSparkCannotHonourAreRefusedByName() {
        dataOrSkip();
        List<String> f = flags(tmp.resolve("x"));
        f.addAll(List.of("--spark", "local[2]", "--batch-norm", "exact"));
        Run r = run(new SparkTrain.Engine(), f.toArray(String[]::new));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--batch-norm exact is not available with --spark"), r.err());
        // The CLI alone has no Spark: it says where to get it.
        Run plain = run(TrainEngine.LOCAL, f.toArray(String[]::new));
        assertEquals(2, plain.code(), plain.toString());
        assertTrue(plain.err().contains("--spark local[2] needs batchwise-spark_2.13"), plain.err());
    }

    @Test
    void anUnreachableMasterFailsWithinTheTimeoutNamingIt() {
        dataOrSkip();
        System.setProperty(SparkTrain.CONNECT_TIMEOUT, "3");
        Path out = tmp.resolve("nowhere");
        List<String> f = flags(out);
        f.addAll(List.of("--spark", "spark://127.0.0.1:1"));
        long t0 = System.nanoTime();
        Run r = run(new SparkTrain.Engine(), f.toArray(String[]::new));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("cannot reach the Spark master spark://127.0.0.1:1 (127.0.0.1:1 Connection refused"), r.err());
        assertTrue(seconds < 20, "gave up after " + seconds + " s");
        assertFalse(Files.exists(out.resolve("last.ckpt")) || Files.exists(out.resolve("metrics.csv")), "nothing written");
    }

    /**
     * A master that answers but has no worker to give the application executors: the run stops after the connect
     * timeout with a message naming the master and what to check, and writes nothing. The master is Spark's own
     * standalone master, started in this JVM on a free loopback port.
     */
    @Test
    void aReachableMasterWithoutWorkersFailsWithinTheTimeoutNamingIt() {
        dataOrSkip();
        LocalSpark.stop(); // one SparkContext per JVM: the command makes its own
        scala.Tuple3<org.apache.spark.rpc.RpcEnv, Object, scala.Option<Object>> started =
                org.apache.spark.deploy.master.Master.startRpcEnvAndEndpoint("127.0.0.1", 0, 0,
                        new org.apache.spark.SparkConf().set("spark.ui.enabled", "false"));
        org.apache.spark.rpc.RpcEnv rpc = started._1();
        String master = "spark://127.0.0.1:" + rpc.address().port();
        System.setProperty(SparkTrain.CONNECT_TIMEOUT, "3");
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        try {
            Path out = tmp.resolve("no-workers");
            List<String> f = flags(out);
            f.addAll(List.of("--spark", master));
            long t0 = System.nanoTime();
            Run r = run(new SparkTrain.Engine(), f.toArray(String[]::new));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("no Spark executor registered with master " + master + " within 3 s"), r.err());
            assertTrue(r.err().contains("free cores and memory"), r.err());
            assertTrue(seconds < 60, "gave up after " + seconds + " s");
            assertFalse(Files.exists(out.resolve("last.ckpt")) || Files.exists(out.resolve("metrics.csv")), "nothing written");
        } finally {
            System.clearProperty("spark.driver.host");
            rpc.shutdown();
            rpc.awaitTermination();
        }
    }
}
