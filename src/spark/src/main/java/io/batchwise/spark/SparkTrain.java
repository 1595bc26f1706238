package io.batchwise.spark;

import io.batchwise.cli.Main;
import io.batchwise.cli.TrainEngine;
import io.batchwise.models.Models;
import io.batchwise.train.BatchNormMode;
import io.batchwise.train.Dataset;
import io.batchwise.train.Trainer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.TrainingListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code batchwise train} on Spark: the entry point of {@code spark-submit} and of {@code ./batchwise train --spark
 * MASTER}. It takes the flags of {@code batchwise train} (with or without the word {@code train} first) and runs the
 * command itself ({@link Main#execute}), which reads the data, plans, drives the trainer and writes the same files
 * (metrics.csv, epochs.csv, plan.txt, summary.json, training.png, the checkpoint, model.bw); only the steps are
 * computed by a {@link SparkTrainer} over {@code W} workers, W being Spark's default parallelism (the data's partitions).
 *
 * <pre>
 * spark-submit --master spark://host:7077 --class io.batchwise.spark.SparkTrain app.jar --model lenet --batch 4096 ...
 * ./batchwise train --spark 'local[2]' --model mlp --batch 512 --micro-batch 64 --out runs/spark
 * </pre>
 *
 * <p>The master: {@code --spark MASTER}, else spark-submit's {@code --master}. Spark settings: spark-submit's
 * {@code --conf}, or {@code -Dspark.x=y} system properties. A standalone master that accepts no connection fails at once
 * (at most 10 s); {@code spark.batchwise.connectTimeout} (seconds, default 60): how long to wait for the first executor
 * of a reachable master before giving up with a clear error.
 */
public final class SparkTrain {
    /** Seconds to wait for a cluster's first executor: {@code spark.batchwise.connectTimeout}. */
    static final String CONNECT_TIMEOUT = "spark.batchwise.connectTimeout";

    private SparkTrain() {
    }

    public static void main(String[] args) {
        System.exit(Main.execute(trainArgs(args), new Engine()));
    }

    /** {@code args} as the {@code batchwise} command line: {@code train} and the flags. */
    static String[] trainArgs(String[] args) {
        if (args.length > 0 && args[0].equals("train")) {
            return args.clone();
        }
        String[] a = new String[args.length + 1];
        a[0] = "train";
        System.arraycopy(args, 0, a, 1, args.length);
        return a;
    }

    /** The command's steps on Spark: a context for the master, the training data's shards, a {@link SparkTrainer}. */
    static final class Engine implements TrainEngine {
        @Override
        public String refuse(Settings s) {
            String why = s.model() == null ? "--spark trains the built-in models (--model " + String.join("|", Models.names())
                    + ") on Fashion-MNIST; user data and --layers are not available with it"
                    : s.batchNorm() == BatchNormMode.EXACT ? "--batch-norm exact is not available with --spark: each worker"
                    + " sees only its share of the batch, and the statistics sums are not combined across workers (ghost"
                    + " statistics per worker micro-batch; see batchwise-spark's README)"
                    : s.measureNoiseScale() ? "--noise-scale is not available with --spark: the driver sees only the"
                    + " workers' summed gradient"
                    : s.adaptiveBatch() != null ? "--adaptive-batch is not available with --spark: it needs the noise scale,"
                    + " and the driver sees only the workers' summed gradient"
                    : s.prefetch() ? "--prefetch does not apply with --spark: the samples live on the executors" : null;
            return why;
        }

        @Override
        public Session start(Settings s, Dataset train, PrintWriter out) {
            SparkConf conf = new SparkConf(); // spark-submit's settings and -Dspark.* properties
            if (s.master() != null) {
                conf.setMaster(s.master());
            }
            if (!conf.contains("spark.master")) {
                throw new IllegalArgumentException("no Spark master: give --spark MASTER (e.g. local[2], spark://host:7077)"
                        + " or run under spark-submit --master");
            }
            conf.setIfMissing("spark.app.name", "batchwise train " + s.model());
            String master = conf.get("spark.master");
            long timeout = conf.getLong(CONNECT_TIMEOUT, 60);
            SparkTrainer.checkMasterReachable(master, Duration.ofSeconds(Math.min(timeout, 10)));
            JavaSparkContext sc = new JavaSparkContext(conf);
            SparkData data = null;
            try {
                int executors = SparkTrainer.awaitExecutors(sc, Duration.ofSeconds(timeout));
                int w = sc.defaultParallelism();
                out.printf(Locale.ROOT, "spark       master %s, %d executor(s), %d workers (partitions of the training data)%n",
                        master, executors, w);
                out.flush();
                data = SparkData.parallelize(sc, train, w);
                String model = s.model();
                SparkTrainer.Builder b = SparkTrainer.builder(sc, () -> Models.byName(model))
                        .backend(s.backendName())
                        .driverBackend(s.backend().name())
                        .optimizer(s.optimizer())
                        .schedule(s.schedule())
                        .batch(s.batch())
                        .seed(s.seed())
                        .precision(s.precision())
                        .reportGradientNorm(true) // a metrics.csv column, as in one process
                        .checkpoints(s.checkpoints())
                        .listener(s.listener());
                if (s.budgetGiven() && !s.microBatchGiven()) {
                    b.memoryBudget(s.budget()); // each worker plans its micro-batch in its own memory
                } else {
                    b.microBatch(s.microBatch());
                }
                StepLog stepLog = new StepLog(s.out().resolve(StepLog.FILE));
                b.listener(stepLog);
                SparkTrainer st;
                try {
                    st = b.build();
                } catch (RuntimeException e) {
                    stepLog.close();
                    throw e;
                }
                stepLog.trainer = st;
                return new SparkSession(sc, data, st, stepLog);
            } catch (RuntimeException e) {
                if (data != null) {
                    data.unpersist();
                }
                sc.stop();
                throw e;
            }
        }
    }

    /**
     * spark.csv in the --out folder: where each step's time went ({@link SparkTrainer.StepTimes}, milliseconds), beside
     * the step's whole time as metrics.csv has it; appended to on a resume.
     */
    static final class StepLog implements TrainingListener, AutoCloseable {
        static final String FILE = "spark.csv";
        static final String HEADER = "step,workers,step_ms,broadcast_ms,job_ms,overhead_ms,worker_load_ms,worker_compute_ms,"
                + "combine_ms,update_ms";
        private final PrintWriter out;
        SparkTrainer trainer; // set once built: the listener is registered before

        StepLog(Path file) {
            try {
                boolean fresh = !Files.exists(file);
                out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND));
                if (fresh) {
                    out.println(HEADER);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file, e);
            }
        }

        @Override
        public void onStep(StepMetrics m) {
            SparkTrainer.StepTimes t = trainer.lastStepTimes();
            double step = m.batch() / m.samplesPerSec() * 1000; // metrics.csv's step time: the step's start to its update
            double update = step - t.broadcast() - t.job() - t.combine();
            out.printf(Locale.ROOT, "%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f%n", m.step(), t.workers(), step,
                    t.broadcast(), t.job(), t.overhead(), t.workerLoad(), t.workerCompute(), t.combine(), update);
            out.flush();
        }

        @Override
        public void close() {
            out.close();
        }
    }

    /** A run on Spark: closes the trainer (workers, then driver), frees the shards and stops the context. */
    private record SparkSession(JavaSparkContext sc, SparkData data, SparkTrainer st, StepLog stepLog)
            implements TrainEngine.Session {
        @Override
        public Trainer trainer() {
            return st.trainer();
        }

        @Override
        public void fit(Dataset train, int epochs, long maxSteps) {
            if (train.size() != data.size()) {
                throw new IllegalStateException("the command's data has " + train.size() + " samples but the Spark shards "
                        + data.size());
            }
            st.fit(data, epochs, maxSteps);
        }

        @Override
        public String report(int n) {
            return st.trainer().report(n) + st.report(data);
        }

        @Override
        public int workers() {
            return data.partitions();
        }

        @Override
        public void close() {
            try {
                stepLog.close();
                st.close();
            } finally {
                try {
                    data.unpersist();
                } finally {
                    sc.stop();
                }
            }
        }
    }
}
