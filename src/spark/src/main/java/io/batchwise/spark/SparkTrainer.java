package io.batchwise.spark;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Parameters;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.train.CheckpointPolicy;
import io.batchwise.train.Dataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import io.batchwise.train.TrainingConfig;
import io.batchwise.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a graph on a Spark cluster with an exact effective batch: {@code B = b x k x W} (micro-batch x accumulation
 * steps x workers), one optimizer step of W workers equal to one step of one process on the whole batch, up to
 * float32 summation order.
 *
 * <p>The driver holds the only master weights and optimizer state, in an ordinary {@link Trainer} whose gradients come
 * from the executors (a {@link io.batchwise.spi.GradientSource}): per step one Spark job over the cached shards of a
 * {@link SparkData}, each task summing its shard's samples of the step on a worker trainer kept in its executor
 * ({@link Trainer#gradientSum}, the single-process micro-batch loop). Everything else (clipping, schedule, update,
 * checkpoints, listeners, stop requests) is the driver trainer's own code. Spark schedules, places and retries the
 * tasks; a failed task is recomputed from the broadcast weights, so no gradient is lost or counted twice.
 *
 * <p>Dropout: each sample's mask is keyed by its position in the effective batch, whichever worker computes it, so
 * W workers draw the masks of one process (not on cudnn workers, whose mask kernel takes contiguous positions only).
 * Limits: classification data ({@link SoftmaxCrossEntropy}); BatchNorm with ghost statistics per
 * worker micro-batch, its running statistics averaged over the workers; no exact BatchNorm, noise-scale measurement
 * or adaptive batch (the driver sees only the summed gradient).
 *
 * <p>Life cycle: {@link Builder#build()} makes the driver trainer (weights initialised from the seed); the first
 * {@link #fit} makes a worker trainer per partition in the executors, reused for every step; {@link #close()} runs a
 * job that closes them, then closes the driver trainer. Not thread-safe.
 */
public final class SparkTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SparkTrainer.class);
    private final JavaSparkContext sc;
    private final Builder settings;
    private final TrainingConfig config;
    private final Graph graph;
    private final String runId = UUID.randomUUID().toString();
    private final SparkGradientSource source;
    private final Trainer trainer;
    private SparkData bound; // the data whose executors hold worker trainers

    private SparkTrainer(Builder b, TrainingConfig config, Graph graph, List<TrainingListener> listeners) {
        this.sc = b.sc;
        this.settings = b;
        this.config = config;
        this.graph = graph;
        this.source = new SparkGradientSource(sc);
        // The driver runs passes only to evaluate: with the workers' micro-batch or budget.
        Trainer.Builder t = Trainer.builder(graph, Backends.get(b.driverBackend != null ? b.driverBackend : b.backend))
                .config(config)
                .checkpoints(b.checkpoints)
                .gradientSource(source);
        listeners.forEach(t::listener);
        this.trainer = t.build();
    }

    public static Builder builder(JavaSparkContext sc, GraphFactory graph) {
        return new Builder(sc, graph);
    }

    /**
     * Trains on {@code data} until {@code epochs} epochs are complete or {@code maxSteps} optimizer steps have been
     * taken in total; resumes mid-epoch after {@link #restore}. A step whose tasks fail beyond Spark's retries throws
     * with the worker's message (step, partition, executor) and leaves the driver's weights as the last step left them.
     */
    public void fit(SparkData data, int epochs, long maxSteps) {
        Shape expected = graph.inputs().get(0).outputShape();
        if (!data.sampleShape().equals(expected)) {
            throw new IllegalArgumentException("the Spark data's samples have shape " + data.sampleShape() + " but input node '"
                    + graph.inputs().get(0).name() + "' takes " + expected);
        }
        int n = data.size();
        WorkerSpec spec = new WorkerSpec(runId, settings.graph, settings.backend,
                ((SoftmaxCrossEntropy) config.loss()).labelSmoothing(), trainer.effectiveBatch(n), config.microBatch(),
                config.budget() == null ? 0 : config.budget().bytes(), config.seed(), config.precision(), settings.verifyEvery, settings.hook);
        if (bound != null && bound != data) {
            closeWorkers();
        }
        bound = data;
        source.bind(data, spec);
        trainer.fit(new Placeholder(n, data.sampleShape()), epochs, maxSteps);
    }

    /** Loss and accuracy over {@code data} on the driver, in inference mode. */
    public LossResult evaluate(Dataset data) {
        return trainer.evaluate(data);
    }

    /** Writes the driver's weights, optimizer state and position (the single-process checkpoint format). */
    public void save(Path file) throws IOException {
        trainer.save(file);
    }

    /** Loads a checkpoint written by {@link #save} or by a single-process {@link Trainer} of the same graph. */
    public void restore(Path file) throws IOException {
        trainer.restore(file);
    }

    /** A few lines on how this trainer splits and combines the effective batch of {@code data}. */
    public String report(SparkData data) {
        int n = data.size();
        int big = trainer.effectiveBatch(n);
        int w = data.partitions();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("effective batch %d over %d workers (Spark partitions; about %d samples each per step),"
                + " %s per worker%n", big, w, (big + w - 1) / w, config.microBatch() > 0 ? "micro-batch " + config.microBatch()
                : "micro-batch planned from a budget of " + config.budget()));
        sb.append(String.format("combining: one Spark job per step; the driver adds the workers' gradient sums in partition"
                + " order, normalised once by 1/(%d x terms), and applies the update%n", big));
        if (parameters().layout().stateSize() > 0) {
            sb.append("BatchNorm: ghost statistics over each worker's micro-batches; running statistics averaged over the"
                    + " workers, weighted by their samples\n");
        }
        return sb.toString();
    }

    /** Optimizer steps taken so far. */
    public long step() {
        return trainer.step();
    }

    /** The driver's parameters: the master weights. */
    public Parameters parameters() {
        return trainer.parameters();
    }

    String runId() {
        return runId;
    }

    /** The driver trainer (its report, plan, stop requests). */
    public Trainer trainer() {
        return trainer;
    }

    /**
     * Where the last step's time went, in milliseconds.
     *
     * @param broadcast     the driver reading its weights and broadcasting them with the step's sample indices
     * @param job           the step's Spark job, from submission to the last result on the driver
     * @param overhead      {@code job} less the slowest worker's load and compute: scheduling, task launch and
     *                      deserialization, fetching the broadcast, serializing the results and moving them to the driver
     * @param workerLoad    the slowest worker's loading of the weights into its trainer
     * @param workerCompute the slowest worker's gradient sum
     * @param combine       the driver adding the workers' sums and writing them into its gradients
     * @param workers       workers that computed a share
     */
    public record StepTimes(double broadcast, double job, double overhead, double workerLoad, double workerCompute,
                            double combine, int workers) {
    }

    /** {@link StepTimes} of the last step. */
    public StepTimes lastStepTimes() {
        SparkGradientSource.Timings t = source.timings();
        return new StepTimes(t.broadcast / 1e6, t.job / 1e6, (t.job - t.workerBusy) / 1e6, t.workerLoad / 1e6,
                t.workerCompute / 1e6, t.combine / 1e6, t.workers);
    }

    /** Closes the worker trainers on the executors (one job), then the driver trainer. */
    @Override
    public void close() {
        try {
            closeWorkers();
        } finally {
            trainer.close();
        }
    }

    private void closeWorkers() {
        if (bound == null) {
            return;
        }
        String id = runId;
        try {
            // One task per partition: it runs where the partition's cached shard (and so its worker) lives.
            bound.shards().foreachPartition(it -> Workers.close(id));
        } catch (Exception e) { // a stopped context, a lost executor: their JVMs' workers end with them
            LOG.warn("could not close the worker trainers of run {}: {}", runId, e.toString());
        }
        Workers.close(runId); // local mode: the driver's JVM is the executor
        bound = null;
    }

    /**
     * Fails fast, naming the master and each address's error, when a standalone master ({@code spark://host:port}, or
     * several comma-separated) accepts no TCP connection within {@code timeout}. Spark's own client would block the
     * context's constructor for three registration attempts of 20 s each before giving up. Other masters (local, yarn,
     * k8s, ...) are not checked here.
     */
    public static void checkMasterReachable(String master, java.time.Duration timeout) {
        if (!master.startsWith("spark://")) {
            return;
        }
        List<String> errors = new ArrayList<>();
        for (String hostPort : master.substring("spark://".length()).split(",")) {
            int colon = hostPort.lastIndexOf(':');
            String host = colon > 0 ? hostPort.substring(0, colon) : hostPort;
            int port;
            try {
                port = colon > 0 ? Integer.parseInt(hostPort.substring(colon + 1)) : 7077;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Spark master " + master + ": '" + hostPort + "' has no valid port");
            }
            try (java.net.Socket socket = new java.net.Socket()) {
                socket.connect(new java.net.InetSocketAddress(host, port), Math.toIntExact(timeout.toMillis()));
                return; // one reachable master is enough (standby masters may be down)
            } catch (IOException e) {
                errors.add(host + ":" + port + " " + e.getMessage());
            }
        }
        throw new IllegalStateException("cannot reach the Spark master " + master + " (" + String.join("; ", errors)
                + "): check that the master is running and its address and port (7077 unless configured otherwise)");
    }

    /**
     * Waits until the cluster of {@code sc} has an executor to run tasks, at most {@code timeout}; returns the number of
     * executors. Local mode has one at once (the driver). A master that cannot be reached, or that has no free cores,
     * otherwise leaves every job waiting without an error (Spark's standalone client gives up after about a minute and
     * only logs it): this fails instead, naming the master and the time waited, and stops the context.
     */
    public static int awaitExecutors(JavaSparkContext sc, java.time.Duration timeout) {
        String master = sc.master();
        if (master.startsWith("local")) {
            return 1;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int executors = sc.sc().statusTracker().getExecutorInfos().length - 1; // less the driver's entry
            if (executors > 0) {
                return executors;
            }
            boolean stopped = sc.sc().isStopped();
            if (stopped || System.nanoTime() >= deadline) {
                sc.stop();
                throw new IllegalStateException(String.format(java.util.Locale.ROOT, "no Spark executor registered with"
                        + " master %s %s: check that the master is running and reachable from this machine (%s), and that"
                        + " it has free cores and memory for this application", master, stopped
                        ? "before Spark gave up on it" : "within " + timeout.toSeconds() + " s",
                        sc.getConf().get("spark.driver.host", "driver host unknown")));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sc.stop();
                throw new IllegalStateException("interrupted while waiting for Spark executors of master " + master, e);
            }
        }
    }

    /**
     * The readable part of a failed Spark job: the worker's own message (step, partition, executor and cause) when a
     * task failed, else Spark's first line.
     */
    static RuntimeException workerFailure(String what, Exception e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof Workers.WorkerException || c instanceof IllegalArgumentException) {
                return new IllegalStateException(what + ": " + c.getMessage(), e);
            }
        }
        String m = String.valueOf(e.getMessage());
        String line = m.lines().findFirst().orElse(m);
        int at = line.indexOf("most recent failure: ");
        int close = at < 0 ? -1 : line.indexOf("): ", at);
        if (close >= 0) {
            String cause = line.substring(close + 3); // "some.Exception: its message"
            int colon = cause.indexOf(": ");
            line = colon > 0 && !cause.substring(0, colon).contains(" ") ? cause.substring(colon + 2) : cause;
        }
        return new IllegalStateException(what + ": " + line, e);
    }

    /** What the driver trainer sees of the data: its size and sample shape; the samples stay on the executors. */
    private record Placeholder(int size, Shape sampleShape) implements Dataset {
        @Override
        public void copyInputs(int[] indices, int from, int count, float[] dst) {
            throw new UnsupportedOperationException("the samples live on the Spark executors");
        }

        @Override
        public Targets targets(int[] indices, int from, int count) {
            throw new UnsupportedOperationException("the samples live on the Spark executors");
        }
    }

    /**
     * Builds a {@link SparkTrainer}: the run's settings ({@link TrainingConfig.Builder}, as for a {@link Trainer}; the
     * batch is the effective batch over all workers, the micro-batch or memory budget each worker's) and the cluster's.
     */
    public static final class Builder extends TrainingConfig.Builder<Builder> {
        private final JavaSparkContext sc;
        private final GraphFactory graph;
        private String backend = "auto";
        private String driverBackend;
        private CheckpointPolicy checkpoints;
        private int verifyEvery = 10;
        private TaskHook hook;

        private Builder(JavaSparkContext sc, GraphFactory graph) {
            this.sc = Objects.requireNonNull(sc, "spark context");
            this.graph = Objects.requireNonNull(graph, "graph");
            loss(new SoftmaxCrossEntropy()); // Spark data is labelled
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Backend name on the executors and the driver ({@code auto}, the default, decides in each JVM). */
        public Builder backend(String name) {
            this.backend = Objects.requireNonNull(name);
            return this;
        }

        /** Backend of the driver's update and evaluation when it differs from the executors' (e.g. no GPU there). */
        public Builder driverBackend(String name) {
            this.driverBackend = name;
            return this;
        }

        /** Checkpoints written by the driver, in the single-process format. */
        public Builder checkpoints(CheckpointPolicy policy) {
            this.checkpoints = policy;
            return this;
        }

        /**
         * Every {@code n} steps (1, 1 + n, ...) each worker checks that the weights it loaded equal the driver's bit
         * for bit (a 64-bit checksum); 0 switches it off. Default 10: one pass over the weights per worker every ten
         * steps.
         */
        public Builder verifyEvery(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("verification interval must be >= 0 steps, got " + n);
            }
            this.verifyEvery = n;
            return this;
        }

        /** Test hook run in the worker tasks. */
        Builder hook(TaskHook h) {
            this.hook = h;
            return this;
        }

        public SparkTrainer build() {
            TrainingConfig c = build("SparkTrainer", true);
            if (!(c.loss() instanceof SoftmaxCrossEntropy)) {
                throw new IllegalArgumentException("Spark training takes labelled data and so SoftmaxCrossEntropy; got " + c.loss());
            }
            Graph g = graph.get();
            return new SparkTrainer(this, c, g, listeners());
        }
    }
}
