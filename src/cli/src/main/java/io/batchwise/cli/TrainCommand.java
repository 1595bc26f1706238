package io.batchwise.cli;

import io.batchwise.data.PrefetchingDataset;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.inference.Model;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.train.AdaptiveBatch;
import io.batchwise.train.BatchNormMode;
import io.batchwise.train.BatchChange;
import io.batchwise.train.CheckpointPolicy;
import io.batchwise.train.Dataset;
import io.batchwise.train.EpochMetrics;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Schedule;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import io.batchwise.train.TrainingListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code batchwise train}: trains a built-in model on Fashion-MNIST with an exact effective batch.
 *
 * <p>Order of work: choose the backend, load and check the data, plan the micro-batch against the
 * budget (printed and written to {@code plan.txt}), then train epoch by epoch with a progress bar;
 * after each epoch evaluate on the test set and save the checkpoint; at the end write
 * {@code summary.json} and the plot. {@code metrics.csv} and {@code epochs.csv} grow as it runs.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a model on Fashion-MNIST or on your own data (--data-csv, --data-images). The effective batch (--batch) is exact: when it does not"
                + " fit in memory, gradients of several micro-batches are accumulated into one optimizer step.", ""},
        footer = {"", "Writes into --out: metrics.csv (one row per optimizer step), epochs.csv (test accuracy after each"
                + " epoch), plan.txt, summary.json, training.png and the checkpoint last.ckpt (unless --checkpoint names"
                + " another folder).",
                "", "Examples:", "  batchwise train --model lenet --epochs 5 --out runs/lenet",
                "  batchwise train --model mlp --batch 4096 --memory-budget 64MiB --lr 0.004",
                "  batchwise train --model mlp --batch full --optimizer sgd --lr 0.5 --epochs 50",
                "  batchwise train --model mlp --batch 64 --micro-batch 64 --adaptive-batch 4096",
                "  batchwise train --data-csv iris.csv --label species --layers dense:16 --epochs 50",
                "  batchwise train --data-images photos/ --image-size 32x32 --channels rgb"})
final class TrainCommand implements Callable<Integer> {
    static final String CHECKPOINT_FILE = "last.ckpt";
    static final String PLOT_FILE = "training.png";
    static final String MODEL_FILE = "model.bw";

    @Spec
    CommandSpec spec;

    @Mixin
    SetupOptions setup;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--prefetch", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Gather the next micro-batch on a background thread while the current one computes."
                    + " Default: off (no faster on the 2-core machine measured: benchmarks/RESULTS.md).")
    boolean prefetch;

    @Option(names = "--lr", paramLabel = "RATE", converter = Specs.PositiveDouble.class,
            description = "Base learning rate. Default by optimizer: adam 0.003; adamw 0.004; rmsprop 0.001; sgd 0.1;"
                    + " momentum, nesterov, adagrad 0.01; adadelta 1.0.")
    Double lr;

    @Option(names = "--weight-decay", paramLabel = "W", converter = Specs.NonNegativeDouble.class,
            description = "Weight decay: L2 added to the gradient, decoupled (w *= 1 - lr W) for adamw."
                    + " Default: 0, adamw 0.1.")
    Double weightDecay;

    @Option(names = "--schedule", paramLabel = "SPEC", defaultValue = "warmup:5%+cosine", converter = Specs.ScheduleConverter.class,
            description = "Learning-rate schedule: constant; cosine[:MIN] (from 1 to MIN, default 0, over the run's"
                    + " steps); step:EVERY:GAMMA; exp:GAMMA; warmup:N[+SCHEDULE] or warmup:P%%[+SCHEDULE] (linear warm-up"
                    + " over N steps or P%% of the run). Default: ${DEFAULT-VALUE}.")
    Specs.ScheduleSpec schedule;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "5", converter = Specs.PositiveInt.class,
            description = "Epochs to train. Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--steps", paramLabel = "N", converter = Specs.PositiveLong.class,
            description = "Stop after N optimizer steps in all (counting those before a --resume).")
    Long steps;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of the initial weights, the data order and dropout. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--checkpoint", paramLabel = "DIR",
            description = "Folder for the checkpoint " + CHECKPOINT_FILE + ", saved after every epoch and at the end."
                    + " Default: the --out folder.")
    Path checkpoint;

    @Option(names = "--resume",
            description = "Continue from the checkpoint (same flags), bit for bit where it stopped; when there is no"
                    + " checkpoint yet (a run stopped before its first), start from the beginning.")
    boolean resume;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "0", converter = Specs.NonNegativeLong.class,
            description = "Also write the checkpoint every STEPS optimizer steps (0: off). Default: ${DEFAULT-VALUE}.")
    long checkpointEvery;

    @Option(names = "--checkpoint-minutes", paramLabel = "M", defaultValue = "5", converter = Specs.NonNegativeDouble.class,
            description = "Also write the checkpoint when M minutes have passed since the last one (0: off); besides these,"
                    + " one is written after every epoch and when the run is stopped by SIGINT or SIGTERM."
                    + " Default: ${DEFAULT-VALUE}.")
    double checkpointMinutes;

    @Option(names = "--keep-checkpoints", paramLabel = "K", defaultValue = "1", converter = Specs.PositiveInt.class,
            description = "Keep the last K checkpoints: " + CHECKPOINT_FILE + " and, for K > 1, step-<N>.ckpt beside it."
                    + " Default: ${DEFAULT-VALUE}.")
    int keepCheckpoints;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Folder for the results. Default: runs/<model>-<date>-<time>.")
    Path out;

    @Mixin
    PrecisionOption precision;

    @Option(names = "--batch-norm", paramLabel = "ghost|exact", defaultValue = "ghost",
            converter = Specs.BatchNormConverter.class,
            description = "BatchNorm statistics when a step runs as several micro-batches: 'ghost' (each micro-batch's,"
                    + " no extra cost) or 'exact' (the whole effective batch's, so the step equals one big batch; about"
                    + " 2L+1 forward and L+1 backward sweeps per step for L BatchNorm layers). Default: ${DEFAULT-VALUE}.")
    BatchNormMode batchNorm;

    @Option(names = "--noise-scale",
            description = "Measure the gradient noise scale B_simple on every step. Steps of two or more micro-batches"
                    + " measure it anyway; with this flag a single-pass step is run as two halves (exact, but a little"
                    + " slower; BatchNorm then sees the halves' statistics).")
    boolean noiseScale;

    @Option(names = "--adaptive-batch", paramLabel = "MAX|full", arity = "0..1", fallbackValue = "full",
            converter = Specs.BatchConverter.class,
            description = "Grow the effective batch during training toward the measured noise scale B_simple (Smith et"
                    + " al. 2017), from --batch up to MAX (default, or 'full': the training set): at most every 50 steps,"
                    + " at most doubling, in multiples of the micro-batch (doublings below it), never shrinking. The"
                    + " micro-batch is planned for"
                    + " MAX and stays; the accumulation steps rise. The learning rate is not rescaled (Smith's rule) and"
                    + " the schedule is followed in epochs. Each change is printed.")
    Specs.Batch adaptiveBatch;

    @Option(names = "--progress-interval", paramLabel = "SECONDS", defaultValue = "10", hidden = true,
            description = "When standard error is not a terminal: seconds between progress lines.")
    int progressSeconds;

    @Option(names = "--spark", paramLabel = "MASTER",
            description = "Train on Apache Spark with this master (local[N], spark://HOST:PORT, yarn, ...): one step of W"
                    + " workers (the data's partitions, Spark's default parallelism) equals one step of this process;"
                    + " --batch stays the effective batch, --micro-batch is per worker. Needs batchwise-spark_2.13: the"
                    + " ./batchwise launcher adds it and Spark's jars when it sees this flag.")
    String spark;

    /** What computes the steps: this process unless another module's entry point sets its own (set by {@link Main}). */
    TrainEngine engine = TrainEngine.LOCAL;

    /** Whether standard error is an interactive terminal (set by {@link Main}). */
    boolean terminal;

    /** What the last run wrote into summary.json, for tests. */
    Map<String, Object> summary;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        Prepared r = prepare(stdout);
        Files.createDirectories(r.outDir());
        Files.createDirectories(r.ckptDir());
        r.backend().memory().resetPeak();
        Relay relay = new Relay();
        long wallStart = System.nanoTime();
        TrainEngine.Settings settings = new TrainEngine.Settings(r.builtIn() ? setup.model : null, r.graph(), r.backend(), setup.backend,
                r.optimizer(), r.sched(), setup.batch.size(), r.decision().microBatch(), setup.microBatch.samples() > 0, r.budget(),
                !setup.memoryBudget.auto(), seed, batchNorm, precision.value, noiseScale,
                adaptiveBatch == null ? null : AdaptiveBatch.upTo(r.cap()), prefetch,
                // Epoch-end checkpoints are written below, after the evaluation and its epochs.csv row.
                CheckpointPolicy.to(r.ckpt()).everySteps(checkpointEvery).keep(keepCheckpoints).atEpochEnd(false)
                        .every(Duration.ofMillis(Math.round(checkpointMinutes * 60_000))),
                spark, r.outDir(), relay);
        String refused = engine.refuse(settings);
        if (refused != null) {
            throw new ParameterException(spec.commandLine(), refused);
        }
        try (PrefetchingDataset prefetched = prefetch ? PrefetchingDataset.of(r.train()) : null;
             TrainEngine.Session session = engine.start(settings, r.train(), stdout)) {
            Trainer t = session.trainer();
            String planText = r.planText() + System.lineSeparator() + session.report(r.n());
            stdout.print(planText);
            AtomicFiles.write(r.outDir().resolve("plan.txt"), planText.getBytes(StandardCharsets.UTF_8));
            if (r.planned().overBudget()) {
                stdout.println("warning     the predicted peak is over the automatic budget; training anyway");
            }
            if (r.restore()) {
                t.restore(r.ckpt());
                stdout.printf(Locale.ROOT, "resumed     from %s at epoch %d, step %,d%n", r.ckpt(), t.epoch() + 1, t.step());
            }
            stdout.println();
            stdout.flush();

            long firstStep = t.step();
            RunSummary run = new RunSummary();
            try (StopSignals signals = new StopSignals(stderr, t::requestStop);
                 RunLog log = new RunLog(r.outDir(), r.restore() ? t.step() : -1, stdout);
                 Progress progress = new Progress(stderr, terminal, firstStep, r.totalSteps(), epochs, progressSeconds * 1000L,
                         adaptiveBatch == null ? -1 : t.samplesSeen(), (long) epochs * r.n(), session.workers())) {
                relay.add(log);
                relay.add(progress);
                relay.add(run);
                relay.add(new TrainingListener() {
                    @Override
                    public void onBatchChange(BatchChange c) {
                        progress.interrupt(() -> {
                            stdout.printf(Locale.ROOT, "batch       %s%n", c.describe());
                            stdout.flush();
                        });
                    }
                });
                long lastEvaluated = -1;
                LossResult testResult = null;
                while (t.epoch() < epochs && t.step() < r.maxSteps() && !t.stopRequested()) {
                    int e = t.epoch();
                    long t0 = System.nanoTime();
                    session.fit(prefetched != null ? prefetched : r.train(), e + 1, r.maxSteps());
                    run.trainNanos += System.nanoTime() - t0;
                    if (t.epoch() > e) {
                        testResult = t.evaluate(r.test());
                        lastEvaluated = t.step();
                        RunLog.Epoch row = log.epoch(e + 1, t.step(), testResult.mean(), testResult.accuracy());
                        t.checkpoint();
                        String noise = Double.isNaN(row.noiseScale()) ? ""
                                : String.format(Locale.ROOT, "  B_simple %.0f", row.noiseScale());
                        String batchNow = adaptiveBatch == null ? "" : "  batch " + row.batch();
                        progress.interrupt(() -> {
                            stdout.printf(Locale.ROOT, "epoch %d/%d  step %,d  train loss %.4f acc %.4f  test loss %.4f acc %.4f"
                                            + "%s%s  %.1f s%n", row.epoch(), epochs, row.step(), row.trainLoss(), row.trainAccuracy(),
                                    row.testLoss(), row.testAccuracy(), noise, batchNow, log.elapsed());
                            stdout.flush();
                        });
                    }
                }
                progress.close();
                if (t.stopRequested()) {
                    // The trainer wrote the checkpoint when it stopped (or the epoch's end did, when the signal came after).
                    log.flush();
                    stdout.printf(Locale.ROOT, "%nstopped     at epoch %d, step %,d; checkpoint %s%n", t.epoch() + 1, t.step(), r.ckpt());
                    stdout.printf("resume with %s%n", resumeCommand());
                    stdout.flush();
                    return signals.exitStatus();
                }
                if (lastEvaluated != t.step() || testResult == null) {
                    testResult = t.evaluate(r.test());
                }
                if (t.step() != lastEvaluated || testResult == null) {
                    t.checkpoint();
                }
                Path modelFile = r.ckpt().resolveSibling(MODEL_FILE); // graph, weights and BatchNorm state for 'predict'
                Model.save(t.parameters(), modelFile);
                if (r.user() != null) {
                    UserData.writeSpec(modelFile.resolveSibling(UserData.SPEC_FILE), r.user().spec()); // how predict reads new data
                }
                log.flush();
                double wall = (System.nanoTime() - wallStart) / 1e9;
                long measuredPeak = r.backend().memory().peakBytes();
                double trainSeconds = run.trainNanos / 1e9;
                double throughput = run.samples / Math.max(1e-9, trainSeconds);

                Outcome o = new Outcome(testResult, firstStep, wall, measuredPeak, trainSeconds, throughput,
                        t.noiseScale().map(x -> x.simple()).orElse(Double.NaN), modelFile);
                Map<String, Object> s = summary(r, t, run, log, o, session.workers());
                AtomicFiles.write(r.outDir().resolve("summary.json"),
                        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(s));
                List<Plot.TestPoint> tests = new ArrayList<>();
                for (RunLog.Epoch ep : log.epochs()) {
                    tests.add(new Plot.TestPoint(ep.step(), ep.testLoss(), ep.testAccuracy()));
                }
                if (tests.isEmpty() || tests.get(tests.size() - 1).step() != t.step()) {
                    tests.add(new Plot.TestPoint(t.step(), testResult.mean(), testResult.accuracy()));
                }
                Plot.write(r.outDir().resolve(PLOT_FILE), r.modelName() + ", batch " + setup.batch
                        + (adaptiveBatch == null ? "" : " adaptive to " + t.effectiveBatch(r.n())) + ", " + r.optimizer().name(), log.steps(),
                        tests);
                summary = s;

                printResults(stdout, r, t, run, o);
            }
        }
        return 0;
    }

    /** What the run needs before it starts: backend, data, model, the plan and the folders; prints the data line. */
    private Prepared prepare(PrintWriter stdout) throws IOException {
        boolean modelGiven = spec.commandLine().getParseResult().hasMatchedOption("--model");
        dataOptions.check(spec, modelGiven);
        Planning.Chosen chosen = chooseBackend(spec, setup.backend);
        Backend backend = chosen.backend();
        Optimizer optimizer = setup.optimizer.create(lr, weightDecay);

        long tLoad = System.nanoTime();
        DataOptions.Loaded loaded = dataOptions.load(spec, seed, stdout);
        Dataset train = loaded.train();
        InMemoryDataset test = loaded.test();
        UserData.Loaded user = loaded.user();
        int classes = loaded.classes();
        DataOptions.Model model = dataOptions.model(spec, setup.model, modelGiven, train.sampleShape(), classes);
        String modelName = model.name();
        Graph graph = model.graph();
        boolean builtIn = model.builtIn();
        Path outDir = out != null ? out : Path.of("runs", (builtIn ? setup.model : user != null ? "data" : "layers") + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Path ckptDir = checkpoint != null ? checkpoint : outDir;
        Path ckpt = ckptDir.resolve(CHECKPOINT_FILE);
        boolean restore = resume && Files.isRegularFile(ckpt);
        if (resume && !restore) {
            // A run stopped before its first checkpoint: the same command line starts it from the beginning.
            stdout.printf("resume      no checkpoint %s yet; starting from the beginning%n", ckpt);
        }

        train = DataOptions.head(spec, train, setup.trainLimit);
        int n = train.size();
        if (user == null) {
            stdout.printf(Locale.ROOT, "            %,d training and %,d test samples, read and checked in %.1f s;"
                            + " pixels (x/255 - %.4f) / %.4f%n", n, test.size(), (System.nanoTime() - tLoad) / 1e9,
                    FashionMnist.MEAN, FashionMnist.STD);
        } else {
            stdout.printf(Locale.ROOT, "            %,d training and %,d test samples of shape %s, %d classes, read and checked"
                            + " in %.1f s; %s%n", n, test.size(), train.sampleShape(), classes, (System.nanoTime() - tLoad) / 1e9,
                    user.description());
        }

        int effective = setup.batch.size().resolve(n);
        int cap = adaptiveBatch == null ? effective : adaptiveBatch.size().resolve(n);
        if (cap < effective) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--adaptive-batch': " + adaptiveBatch
                    + " is less than the effective batch " + effective + " it starts from (--batch)");
        }
        Budget budget = setup.memoryBudget.resolve(backend);
        // An adaptive batch keeps the micro-batch it starts with: plan it for the largest batch it may grow to.
        Planning.Result planned = Planning.decide(backend, graph, optimizer.stateSlots(), cap, setup.microBatch.samples(),
                budget, !setup.memoryBudget.auto(), precision.value);
        long perEpoch = (n + effective - 1) / effective;
        long totalSteps = epochs * perEpoch;
        long maxSteps = steps != null ? steps : Long.MAX_VALUE;
        // With an adaptive batch the schedule runs in epochs (steps of the initial batch), whatever --steps says.
        long scheduleSteps = adaptiveBatch == null ? Math.min(totalSteps, maxSteps) : totalSteps;
        totalSteps = Math.min(totalSteps, maxSteps);
        Schedule sched = schedule.build(scheduleSteps);
        String scheduleText = schedule + (adaptiveBatch == null
                ? String.format(Locale.ROOT, " (over a run of %,d steps)", totalSteps)
                : String.format(Locale.ROOT, " (over %,d epochs of %,d steps of the initial batch %d)", epochs, perEpoch, effective))
                + String.format(Locale.ROOT, "; %d epoch(s) of %,d steps%s", epochs, perEpoch,
                steps != null ? ", stopping at step " + steps : "")
                + (adaptiveBatch == null ? "" : ", fewer as the batch grows");
        String regime = adaptiveBatch == null ? setup.batch.size() + " of " + n + " samples"
                : "adaptive: from " + effective + " up to " + cap + " of " + n + " samples; the plan is for " + cap;
        String planText = Planning.describe(chosen, modelName, graph, planned, regime, describe(optimizer), scheduleText);

        return new Prepared(chosen, optimizer, train, test, user, modelName, graph, builtIn, outDir, ckptDir, ckpt,
                restore, n, effective, cap, budget, planned, sched, totalSteps, maxSteps, planText);
    }

    /** What {@link #prepare} settled for the run. */
    private record Prepared(Planning.Chosen chosen, Optimizer optimizer, Dataset train, InMemoryDataset test,
                            UserData.Loaded user, String modelName, Graph graph, boolean builtIn, Path outDir, Path ckptDir,
                            Path ckpt, boolean restore, int n, int effective, int cap, Budget budget, Planning.Result planned,
                            Schedule sched, long totalSteps, long maxSteps, String planText) {
        Backend backend() {
            return chosen.backend();
        }

        MemoryPlanner.Decision decision() {
            return planned.decision();
        }
    }

    /** How the run ended: the last evaluation, its times and where the model went. */
    private record Outcome(LossResult testResult, long firstStep, double wall, long measuredPeak, double trainSeconds,
                           double throughput, double noiseNow, Path modelFile) {
    }

    /** The run's summary.json: settings, plan, measured memory, results and (with an adaptive batch) its changes. */
    private Map<String, Object> summary(Prepared r, Trainer t, RunSummary run, RunLog log, Outcome o, int workers) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("model", r.modelName());
        s.put("data", r.user() != null ? r.user().description() : "Fashion-MNIST");
        s.put("classes", r.user() != null ? r.user().classes() : FashionMnist.CLASS_NAMES);
        s.put("prefetch", prefetch);
        s.put("parameters", r.graph().parameterCount());
        s.put("backend", r.backend().name());
        s.put("backend_reason", r.chosen().reason());
        s.put("optimizer", describe(r.optimizer()));
        s.put("schedule", schedule.text());
        s.put("seed", seed);
        s.put("train_samples", r.n());
        s.put("test_samples", r.test().size());
        s.put("effective_batch", r.effective());
        s.put("precision", precision.value.label());
        s.put("micro_batch", r.decision().microBatch());
        s.put("accumulation_steps", (r.effective() + r.decision().microBatch() - 1) / r.decision().microBatch());
        s.put("micro_batch_chosen_by", r.planned().chosenByPlanner() ? "planner" : "--micro-batch");
        s.put("memory_budget_bytes", r.budget().bytes());
        s.put("memory_budget_source", r.budget().source());
        s.put("predicted_peak_bytes", r.decision().predictedPeakBytes());
        s.put("measured_peak_bytes", o.measuredPeak());
        s.put("epochs_completed", t.epoch());
        s.put("steps", t.step());
        s.put("steps_this_run", t.step() - o.firstStep());
        s.put("samples_this_run", run.samples);
        s.put("resumed", r.restore());
        s.put("final_train_loss", run.lastLoss);
        s.put("noise_scale", finiteOrNull(o.noiseNow()));
        s.put("noise_scale_measured", t.noiseScale().map(x -> x.count()).orElse(0L) == 0 ? "not measured"
                : noiseScale || adaptiveBatch != null ? "every step (single-pass steps split in two)"
                : "on steps of two or more micro-batches");
        List<Map<String, Object>> epochNoise = new ArrayList<>();
        for (RunLog.Epoch ep : log.epochs()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("epoch", ep.epoch());
            e.put("step", ep.step());
            e.put("batch", ep.batch());
            e.put("noise_scale", finiteOrNull(ep.noiseScale()));
            epochNoise.add(e);
        }
        s.put("noise_scale_per_epoch", epochNoise);
        s.put("final_effective_batch", t.effectiveBatch(r.n()));
        s.put("final_accumulation_steps", t.accumulationSteps(r.n()));
        if (adaptiveBatch != null) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("max_batch", r.cap());
            a.put("interval_steps", t.adaptiveBatch().orElseThrow().interval());
            a.put("learning_rate_rule", "not rescaled (Smith et al. 2017); schedule followed in epochs");
            List<Map<String, Object>> changes = new ArrayList<>();
            for (BatchChange c : run.changes) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("step", c.step());
                m.put("samples", c.samples());
                m.put("from", c.from());
                m.put("to", c.to());
                m.put("noise_scale", finiteOrNull(c.noiseScale()));
                changes.add(m);
            }
            a.put("changes_this_run", changes);
            s.put("adaptive_batch", a);
        }
        s.put("test_loss", o.testResult().mean());
        s.put("test_accuracy", o.testResult().accuracy());
        s.put("train_seconds", o.trainSeconds());
        s.put("wall_seconds", o.wall());
        s.put("samples_per_sec", o.throughput());
        s.put("checkpoint", r.ckpt().toString());
        if (workers > 1) {
            s.put("workers", workers);
            s.put("spark_master", spark);
        }
        s.put("threads", System.getenv("OMP_NUM_THREADS") != null ? System.getenv("OMP_NUM_THREADS")
                : String.valueOf(Runtime.getRuntime().availableProcessors()));
        return s;
    }

    /** The closing lines: test result, time, throughput, memory and the files written. */
    private void printResults(PrintWriter stdout, Prepared r, Trainer t, RunSummary run, Outcome o) {
        stdout.println();
        stdout.printf(Locale.ROOT, "test        accuracy %.4f, loss %.4f on %,d samples%n", o.testResult().accuracy(),
                o.testResult().mean(), r.test().size());
        stdout.printf(Locale.ROOT, "time        %.1f s training (%,d steps, %,d samples this run), %.1f s in all%n",
                o.trainSeconds(), t.step() - o.firstStep(), run.samples, o.wall());
        stdout.printf(Locale.ROOT, "throughput  %,.0f samples/s (%s)%n", o.throughput(), r.backend().name());
        if (Double.isFinite(o.noiseNow())) {
            stdout.printf(Locale.ROOT, "noise scale B_simple %.0f at the end (smoothed; per epoch in epochs.csv, per step in"
                    + " metrics.csv)%n", o.noiseNow());
        }
        if (adaptiveBatch != null) {
            stdout.printf(Locale.ROOT, "batch       adaptive: %d change(s) this run, now %,d = %d x %d%n", run.changes.size(),
                    t.effectiveBatch(r.n()), t.accumulationSteps(r.n()), t.microBatch());
        }
        stdout.printf(Locale.ROOT, "memory      measured peak %s, predicted %s, budget %s%n", Budget.human(o.measuredPeak()),
                Budget.human(r.decision().predictedPeakBytes()), Budget.human(r.budget().bytes()));
        stdout.printf("wrote       %s: metrics.csv, epochs.csv, plan.txt, summary.json, %s; checkpoint %s; model %s%s%n",
                r.outDir(), PLOT_FILE, r.ckpt(), o.modelFile(), r.user() != null ? " and " + UserData.SPEC_FILE : "");
        stdout.flush();
    }

    /** This command line with {@code --resume} (once), as a user would type it again. */
    private String resumeCommand() {
        List<String> args = new ArrayList<>(spec.commandLine().getParseResult().originalArgs());
        if (!args.contains("--resume")) {
            args.add("--resume");
        }
        StringBuilder sb = new StringBuilder("./batchwise train");
        for (String a : args) {
            sb.append(' ').append(a.matches("[A-Za-z0-9_./:=,%+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return sb.toString();
    }

    /** The backend for {@code --backend}; a name that is not there becomes an error naming the flag. */
    static Planning.Chosen chooseBackend(CommandSpec spec, String name) {
        try {
            return Planning.backend(name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--backend': " + e.getMessage());
        } catch (java.util.ServiceConfigurationError e) {
            throw new IllegalStateException("a backend on the class path cannot be loaded: " + e.getMessage(), e);
        }
    }

    static String describe(Optimizer o) {
        double wd = o instanceof Optimizer.Sgd s ? s.weightDecay() : o instanceof Optimizer.Adam a ? a.weightDecay()
                : o instanceof Optimizer.AdamW w ? w.weightDecay() : o instanceof Optimizer.Adagrad g ? g.weightDecay()
                : o instanceof Optimizer.RmsProp r ? r.weightDecay() : o instanceof Optimizer.Adadelta d ? d.weightDecay() : 0;
        String decay = wd > 0 ? ", weight decay " + wd + (o instanceof Optimizer.AdamW ? " (decoupled)" : " (L2)") : "";
        if (o instanceof Optimizer.Sgd s) {
            return s.name() + " lr " + s.lr() + (s.momentum() != 0 ? ", momentum " + s.momentum() : "") + decay;
        }
        return o.name() + " lr " + o.lr() + decay;
    }

    private static Object finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** Forwards training events to listeners added after the trainer was built. */
    private static final class Relay implements TrainingListener {
        private final List<TrainingListener> targets = new ArrayList<>();

        void add(TrainingListener l) {
            targets.add(l);
        }

        @Override
        public void onStep(StepMetrics m) {
            for (TrainingListener l : targets) {
                l.onStep(m);
            }
        }

        @Override
        public void onEpoch(int epoch, double loss, double accuracy) {
            for (TrainingListener l : targets) {
                l.onEpoch(epoch, loss, accuracy);
            }
        }

        @Override
        public void onEpochEnd(EpochMetrics m) {
            for (TrainingListener l : targets) {
                l.onEpochEnd(m);
            }
        }

        @Override
        public void onBatchChange(BatchChange c) {
            for (TrainingListener l : targets) {
                l.onBatchChange(c);
            }
        }

        @Override
        public void beforeCheckpoint(long step) throws IOException {
            for (TrainingListener l : targets) {
                l.beforeCheckpoint(step);
            }
        }
    }

    /** Totals of this run. */
    private static final class RunSummary implements TrainingListener {
        long samples;
        long trainNanos;
        double lastLoss = Double.NaN;
        final List<BatchChange> changes = new ArrayList<>();

        @Override
        public void onBatchChange(BatchChange c) {
            changes.add(c);
        }

        @Override
        public void onStep(StepMetrics m) {
            samples += m.batch();
            lastLoss = m.loss();
        }
    }
}
