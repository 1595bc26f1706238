package io.batchwise.benchmarks;

import io.batchwise.backend.Backends;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Batchwise and the hand-written direct oneDNN loop ({@link DirectLoop}) timed in one JVM, alternated: after a warm-up,
 * {@code rounds} rounds of one timed block per side (a fixed number of steps, about {@code blockMs} each), the order
 * rotated every round. This VM's speed drifts by 15-50% between JMH forks and minutes with no visible load, and a JMH
 * run measures the two sides in different forks minutes apart; here every ratio is taken per round, from blocks
 * seconds apart on the same process, threads and memory, and reported as the median over rounds with its quartiles.
 * Same models, data, initial weights and optimizer (plain SGD lr 0.01) as {@link TrainingStepBenchmark},
 * {@link DirectStepBenchmark}, {@link AccumulationBenchmark} and {@link DirectAccumulationBenchmark}.
 *
 * <p>{@code step}: per model and batch, Batchwise ({@code Trainer.trainBatch} gathering the batch from the data set),
 * Batchwise with the batch resident in its input tensor, the direct loop (batch resident) and the direct loop copying its
 * batch from Java each step ("staged"); figures in samples/s. {@code accumulation}: per model, one step of 512 samples as
 * 8 x 64 and as 1 x 512 on both sides; figures in ms per step.
 *
 * <p>{@code optimizers}: Batchwise's whole step under each optimizer at batch 32, ms per step and its ratio to plain SGD.
 *
 * <p>{@code precision}: Batchwise's whole step (batch resident) in float32 and in bf16 mixed precision per model and
 * batch, samples/s and the bf16 / fp32 speed ratio, and each model's planned micro-batch at a 64 MiB budget in both
 * (issue 20; models default to mlp,lenet,resnet-small, batches to 32,128,512).
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.batchwise.benchmarks.Paired step|accumulation|optimizers [rounds=15] [blockMs=250]
 * [warmupS=4] [models=mlp,lenet] [batches=1,32,128,512, or 32 for optimizers]}. Threads: OMP_NUM_THREADS of the process.
 */
public final class Paired {
    private Paired() {
    }

    /** One way of running a training step. */
    record Side(String name, Runnable step) {
    }

    /**
     * {@code a} against {@code b}: with {@code throughput} the speed ratio (time of b / time of a), else the time ratio
     * (time of a / time of b).
     */
    record Ratio(String name, int a, int b, boolean throughput) {
        double of(double[] msPerStep) {
            return throughput ? msPerStep[b] / msPerStep[a] : msPerStep[a] / msPerStep[b];
        }
    }

    /** Per side the median ms/step over rounds; per ratio its per-round values sorted. */
    record Result(double[] medianMs, double[][] ratios) {
    }

    public static void main(String[] args) throws Exception {
        run(args, System.out);
    }

    /** {@link #main}, printing to {@code out}. */
    static void run(String[] args, PrintStream out) throws Exception {
        if (args.length == 0 || !List.of("step", "accumulation", "optimizers", "precision").contains(args[0])) {
            throw new IllegalArgumentException("usage: Paired step|accumulation|optimizers [rounds=15] [blockMs=250] "
                    + "[warmupS=4] [models=mlp,lenet] [batches=1,32,128,512]");
        }
        // The optimizer suite runs at the CLI's default batch; the step suite over the batch sizes.
        Map<String, String> o = new TreeMap<>(Map.of("rounds", "15", "blockMs", "250", "warmupS", "4",
                "models", args[0].equals("precision") ? "mlp,lenet,resnet-small" : "mlp,lenet",
                "batches", args[0].equals("optimizers") ? "32" : args[0].equals("precision") ? "32,128,512" : "1,32,128,512"));
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            if (kv.length != 2 || !o.containsKey(kv[0])) {
                throw new IllegalArgumentException("unknown option '" + args[i] + "'; options: " + o.keySet());
            }
            o.put(kv[0], kv[1]);
        }
        int rounds = Integer.parseInt(o.get("rounds"));
        double blockMs = Double.parseDouble(o.get("blockMs"));
        double warmupS = Double.parseDouble(o.get("warmupS"));
        String[] models = o.get("models").split(",");
        int[] batches = Arrays.stream(o.get("batches").split(",")).mapToInt(Integer::parseInt).toArray();
        String omp = System.getenv().getOrDefault("OMP_NUM_THREADS", "unset");
        out.printf(Locale.ROOT, "Paired %s, OMP_NUM_THREADS=%s: %d rounds of one ~%.0f ms block per side after %.1f s "
                + "of warm-up per side, order rotated each round; medians over rounds%n", args[0], omp, rounds, blockMs, warmupS);
        switch (args[0]) {
            case "step" -> step(out, models, batches, rounds, blockMs, warmupS);
            case "accumulation" -> accumulation(out, models, rounds, blockMs, warmupS);
            case "precision" -> precision(out, models, batches, rounds, blockMs, warmupS);
            default -> optimizers(out, models, batches, rounds, blockMs, warmupS);
        }
    }

    private static void step(PrintStream out, String[] models, int[] batches, int rounds, double blockMs, double warmupS) throws Exception {
        List<Ratio> ratios = List.of(new Ratio("B/direct", 0, 2, true), new Ratio("B/staged", 0, 3, true),
                new Ratio("Br/direct", 1, 2, true));
        out.printf(Locale.ROOT, "%-6s %5s %10s %10s %10s %10s %s%n", "model", "batch", "Batchwise", "B resident",
                "direct", "staged", header(ratios));
        for (String model : models) {
            for (int batch : batches) {
                InMemoryDataset data = Fixtures.images(batch, 1);
                int[] order = Fixtures.identity(batch);
                ResidentBatch resident = new ResidentBatch(data);
                try (Trainer t = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(0.01), batch, batch);
                     DirectLoop d = Fixtures.direct(model, data, batch, 1)) {
                    List<Side> sides = List.of(
                            new Side("Batchwise", () -> t.trainBatch(data, order, 0, batch)),
                            new Side("B resident", () -> t.trainBatch(resident, order, 0, batch)),
                            new Side("direct", d::step),
                            new Side("staged", d::stagedStep));
                    Result r = measure(sides, ratios, rounds, blockMs, warmupS);
                    out.printf(Locale.ROOT, "%-6s %5d %10s %10s %10s %10s %s%n", model, batch,
                            perSecond(batch, r.medianMs[0]), perSecond(batch, r.medianMs[1]), perSecond(batch, r.medianMs[2]),
                            perSecond(batch, r.medianMs[3]), row(r));
                }
            }
        }
        out.println("samples/s (median block over rounds); ratios: per round, speed of the first over the second, median "
                + "(quartiles) over rounds; B = Trainer.trainBatch gathering the batch from the data set, B resident = the batch "
                + "left in the input tensor, direct = DirectLoop.step (batch resident), staged = DirectLoop.stagedStep (batch "
                + "copied from its Java array each step)");
    }

    /** bf16 mixed precision against float32: the whole step (batch resident) and the planned micro-batch at 64 MiB. */
    private static void precision(PrintStream out, String[] models, int[] batches, int rounds, double blockMs, double warmupS)
            throws Exception {
        io.batchwise.backend.Backend onednn = Backends.get("onednn");
        io.batchwise.plan.Budget budget = io.batchwise.plan.Budget.of(64L << 20);
        for (String model : models) {
            int slots = Optimizer.Adam.of(1e-3).stateSlots();
            int f = io.batchwise.plan.MemoryPlanner.plan(onednn, Fixtures.model(model), slots, 1 << 16, budget,
                    io.batchwise.backend.Precision.FLOAT32).microBatch();
            int h = io.batchwise.plan.MemoryPlanner.plan(onednn, Fixtures.model(model), slots, 1 << 16, budget,
                    io.batchwise.backend.Precision.BF16_MIXED).microBatch();
            out.printf(Locale.ROOT, "planned micro-batch at 64 MiB (Adam): %-12s fp32 %6d, bf16 %6d, bf16/fp32 %.2fx%n", model, f, h,
                    h / (double) f);
        }
        List<Ratio> ratios = List.of(new Ratio("bf16/fp32", 1, 0, true));
        out.printf(Locale.ROOT, "%-12s %5s %12s %12s %s%n", "model", "batch", "fp32", "bf16", header(ratios));
        for (String model : models) {
            for (int batch : batches) {
                InMemoryDataset data = Fixtures.images(batch, 1);
                int[] order = Fixtures.identity(batch);
                ResidentBatch resident = new ResidentBatch(data);
                try (Trainer f = Fixtures.trainer(Fixtures.model(model), onednn, Optimizer.Sgd.plain(0.01), batch, batch);
                     Trainer h = Fixtures.trainer(Fixtures.model(model), onednn, Optimizer.Sgd.plain(0.01), batch, batch,
                             io.batchwise.backend.Precision.BF16_MIXED)) {
                    List<Side> sides = List.of(
                            new Side("fp32", () -> f.trainBatch(resident, order, 0, batch)),
                            new Side("bf16", () -> h.trainBatch(resident, order, 0, batch)));
                    Result r = measure(sides, ratios, rounds, blockMs, warmupS);
                    out.printf(Locale.ROOT, "%-12s %5d %12s %12s %s%n", model, batch, perSecond(batch, r.medianMs[0]),
                            perSecond(batch, r.medianMs[1]), row(r));
                }
            }
        }
        out.println("samples/s of the whole step (forward, loss, backward, plain SGD; batch resident), median block over rounds;"
                + " bf16/fp32: per round, speed of bf16 over fp32, median (quartiles) over rounds");
    }

    private static void accumulation(PrintStream out, String[] models, int rounds, double blockMs, double warmupS) throws Exception {
        int n = AccumulationBenchmark.EFFECTIVE_BATCH;
        List<Ratio> ratios = List.of(new Ratio("B 8x64/1x512", 0, 1, false), new Ratio("direct 8x64/1x512", 2, 3, false),
                new Ratio("B/direct 8x64", 0, 2, false), new Ratio("B/direct 1x512", 1, 3, false));
        out.printf(Locale.ROOT, "%-6s %10s %10s %11s %11s %s%n", "model", "B 8x64", "B 1x512", "direct 8x64",
                "direct 1x512", header(ratios));
        for (String model : models) {
            InMemoryDataset data = Fixtures.images(n, 1);
            int[] order = Fixtures.identity(n);
            try (Trainer t64 = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(0.01), n, 64);
                 Trainer t512 = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(0.01), n, n);
                 DirectLoop d64 = Fixtures.direct(model, data, 64, n / 64);
                 DirectLoop d512 = Fixtures.direct(model, data, n, 1)) {
                List<Side> sides = List.of(
                        new Side("B 8x64", () -> t64.trainBatch(data, order, 0, n)),
                        new Side("B 1x512", () -> t512.trainBatch(data, order, 0, n)),
                        new Side("direct 8x64", d64::step),
                        new Side("direct 1x512", d512::step));
                Result r = measure(sides, ratios, rounds, blockMs, warmupS);
                out.printf(Locale.ROOT, "%-6s %10.3f %10.3f %11.3f %11.3f %s%n", model, r.medianMs[0], r.medianMs[1],
                        r.medianMs[2], r.medianMs[3], row(r));
            }
        }
        out.println("ms per optimizer step of 512 samples (median block over rounds); ratios: per round, time of the first "
                + "over the second, median (quartiles) over rounds; issue target: B 8x64/1x512 at most 1.05");
    }

    /**
     * The whole training step (Batchwise only) under each optimizer (batch 32 unless {@code batches} says otherwise): what the update costs on top of plain SGD's single pass. Hyper-parameters are the records' defaults
     * (AdamW with the CLI's weight decay 0.1); the update's cost does not depend on their values.
     */
    private static void optimizers(PrintStream out, String[] models, int[] batches, int rounds, double blockMs, double warmupS)
            throws Exception {
        List<Optimizer> opts = List.of(Optimizer.Sgd.plain(0.01), Optimizer.Sgd.momentum(0.01, 0.9), Optimizer.Sgd.nesterov(0.01, 0.9),
                Optimizer.Adam.of(0.001), new Optimizer.AdamW(0.004, 0.9, 0.999, 1e-8, 0.1), Optimizer.Adagrad.of(0.01),
                Optimizer.RmsProp.of(0.01), Optimizer.Adadelta.of(1.0));
        List<String> names = List.of("sgd", "momentum", "nesterov", "adam", "adamw", "adagrad", "rmsprop", "adadelta");
        out.printf(Locale.ROOT, "%-6s %5s %s%n", "model", "batch", String.join(" ", names.stream()
                .map(n -> String.format(Locale.ROOT, "%14s", n)).toList()));
        for (String model : models) {
            for (int batch : batches) {
                InMemoryDataset data = Fixtures.images(batch, 1);
                int[] order = Fixtures.identity(batch);
                List<Trainer> trainers = new ArrayList<>();
                try {
                    List<Side> sides = new ArrayList<>();
                    List<Ratio> ratios = new ArrayList<>();
                    for (int i = 0; i < opts.size(); i++) {
                        Trainer t = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), opts.get(i), batch, batch);
                        trainers.add(t);
                        sides.add(new Side(names.get(i), () -> t.trainBatch(data, order, 0, batch)));
                        ratios.add(new Ratio(names.get(i) + "/sgd", i, 0, false));
                    }
                    Result r = measure(sides, ratios, rounds, blockMs, warmupS);
                    List<String> cells = new ArrayList<>();
                    for (int i = 0; i < opts.size(); i++) {
                        cells.add(String.format(Locale.ROOT, "%14s", String.format(Locale.ROOT, "%.3f (%.2fx)", r.medianMs[i],
                                quantile(r.ratios[i], 0.5))));
                    }
                    out.printf(Locale.ROOT, "%-6s %5d %s%n", model, batch, String.join(" ", cells));
                } finally {
                    trainers.forEach(Trainer::close);
                }
            }
        }
        out.println("ms per training step (median block over rounds) and, in brackets, its time over plain SGD's (median of "
                + "per-round ratios); defaults of each optimizer record, AdamW with weight decay 0.1 (the CLI's)");
    }

    /**
     * Warms every side up (alternating half-second chunks, {@code warmupS} seconds each), sizes each side's block to
     * about {@code blockMs} from its warm-up speed, then times {@code rounds} rounds of one block per side, starting each
     * round one side later than the last.
     */
    static Result measure(List<Side> sides, List<Ratio> ratios, int rounds, double blockMs, double warmupS) {
        int s = sides.size();
        double[] warmMs = new double[s];
        int chunks = Math.max(1, (int) Math.round(warmupS / 0.5));
        for (int c = 0; c < chunks; c++) {
            for (int i = 0; i < s; i++) {
                warmMs[i] = runFor(sides.get(i).step, warmupS * 1000 / chunks);
            }
        }
        int[] steps = new int[s];
        for (int i = 0; i < s; i++) {
            steps[i] = Math.max(1, (int) Math.round(blockMs / warmMs[i]));
        }
        double[][] ms = new double[rounds][s]; // (round, side) ms per step
        for (int r = 0; r < rounds; r++) {
            for (int j = 0; j < s; j++) {
                int i = (r + j) % s;
                Runnable step = sides.get(i).step;
                long t0 = System.nanoTime();
                for (int k = 0; k < steps[i]; k++) {
                    step.run();
                }
                ms[r][i] = (System.nanoTime() - t0) / 1e6 / steps[i];
            }
        }
        double[] median = new double[s];
        for (int i = 0; i < s; i++) {
            double[] col = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                col[r] = ms[r][i];
            }
            median[i] = quantile(col, 0.5);
        }
        double[][] values = new double[ratios.size()][rounds];
        for (int q = 0; q < ratios.size(); q++) {
            for (int r = 0; r < rounds; r++) {
                values[q][r] = ratios.get(q).of(ms[r]);
            }
            Arrays.sort(values[q]);
        }
        return new Result(median, values);
    }

    /** Runs {@code step} for about {@code ms} milliseconds (at least once); returns ms per step. */
    private static double runFor(Runnable step, double ms) {
        long t0 = System.nanoTime();
        long end = t0 + (long) (ms * 1e6);
        int n = 0;
        long t;
        do {
            step.run();
            n++;
            t = System.nanoTime();
        } while (t < end);
        return (t - t0) / 1e6 / n;
    }

    /** Linear-interpolated quantile {@code p} of {@code v} (sorted in place). */
    static double quantile(double[] v, double p) {
        Arrays.sort(v);
        double x = p * (v.length - 1);
        int lo = (int) Math.floor(x);
        int hi = Math.min(v.length - 1, lo + 1);
        return v[lo] + (x - lo) * (v[hi] - v[lo]);
    }

    private static String perSecond(int samples, double msPerStep) {
        return String.format(Locale.ROOT, "%,.0f", samples * 1000.0 / msPerStep);
    }

    private static String header(List<Ratio> ratios) {
        List<String> h = new ArrayList<>();
        for (Ratio r : ratios) {
            h.add(String.format(Locale.ROOT, "%-22s", r.name + " (q1..q3)"));
        }
        return String.join(" ", h);
    }

    private static String row(Result r) {
        List<String> c = new ArrayList<>();
        for (double[] v : r.ratios) {
            c.add(String.format(Locale.ROOT, "%-22s", String.format(Locale.ROOT, "%.2f (%.2f..%.2f)", quantile(v, 0.5),
                    quantile(v, 0.25), quantile(v, 0.75))));
        }
        return String.join(" ", c);
    }
}
