package io.batchwise.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs one JMH suite and prints its medians over all measured iterations of all forks: ms per planner
 * decision, samples/s per training step (ops/s x batch), or the accumulation ratio. JMH's own progress
 * goes to {@code log=FILE}.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.batchwise.benchmarks.Suites planner|step|accumulation
 * [forks=2] [warmups=3] [iterations=5] [seconds=1] [log=FILE] [jvm="-Dx=y ..."]}}, where {@code jvm} adds
 * options to the forked JVMs.
 */
public final class Suites {
    private Suites() {
    }

    public static void main(String[] args) throws RunnerException {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: Suites planner|step|accumulation [forks=2] [warmups=3] [iterations=5] [seconds=1] [log=FILE]");
        }
        Map<String, String> o = new HashMap<>(Map.of("forks", "2", "warmups", "3", "iterations", "5", "seconds", "1"));
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            o.put(kv[0], kv[1]);
        }
        Class<?> suite = switch (args[0]) {
            case "planner" -> PlannerBenchmark.class;
            case "step" -> TrainingStepBenchmark.class;
            case "accumulation" -> AccumulationBenchmark.class;
            default -> throw new IllegalArgumentException("unknown suite '" + args[0] + "': planner, step or accumulation");
        };
        TimeValue t = TimeValue.seconds(Integer.parseInt(o.get("seconds")));
        ChainedOptionsBuilder b = new OptionsBuilder()
                .include("^" + Pattern.quote(suite.getName()) + "\\.")
                .forks(Integer.parseInt(o.get("forks")))
                .warmupIterations(Integer.parseInt(o.get("warmups"))).warmupTime(t)
                .measurementIterations(Integer.parseInt(o.get("iterations"))).measurementTime(t);
        if (o.containsKey("log")) {
            b.output(o.get("log"));
        }
        if (o.containsKey("jvm")) {
            b.jvmArgsAppend(o.get("jvm").trim().split("\\s+"));
        }
        Collection<RunResult> results = new Runner(b.build()).run();
        System.out.printf("%s, OMP_NUM_THREADS=%s, medians over %s forks x %s iterations of %s s%s%n", suite.getSimpleName(),
                System.getenv("OMP_NUM_THREADS"), o.get("forks"), o.get("iterations"), o.get("seconds"),
                o.containsKey("jvm") ? ", forks with " + o.get("jvm") : "");
        switch (args[0]) {
            case "planner" -> planner(results);
            case "step" -> step(results);
            default -> accumulation(results);
        }
    }

    private static void planner(Collection<RunResult> results) {
        System.out.printf("%-8s %14s %20s%n", "model", "ms/decision", "min .. max");
        for (RunResult r : results) {
            Statistics s = r.getPrimaryResult().getStatistics();
            System.out.printf("%-8s %14.2f %20s%n", r.getParams().getParam("model"), s.getPercentile(50),
                    String.format("%.2f .. %.2f", s.getMin(), s.getMax()));
        }
        System.out.println("issue target: under 50 ms for the 50-layer network (deep50)");
    }

    private static void step(Collection<RunResult> results) {
        System.out.printf("%-6s %6s %12s %14s %22s%n", "model", "batch", "steps/s", "samples/s", "samples/s min .. max");
        for (RunResult r : results) {
            BenchmarkParams p = r.getParams();
            int batch = Integer.parseInt(p.getParam("batch"));
            Statistics s = r.getPrimaryResult().getStatistics();
            System.out.printf("%-6s %6d %12.1f %,14.0f %22s%n", p.getParam("model"), batch, s.getPercentile(50),
                    s.getPercentile(50) * batch, String.format("%,.0f .. %,.0f", s.getMin() * batch, s.getMax() * batch));
        }
    }

    private static void accumulation(Collection<RunResult> results) {
        Map<String, double[]> ms = new HashMap<>(); // model -> {8 x 64, 1 x 512} median ms per step
        List<String> models = new ArrayList<>();
        for (RunResult r : results) {
            String model = r.getParams().getParam("model");
            int micro = Integer.parseInt(r.getParams().getParam("micro"));
            if (!ms.containsKey(model)) {
                models.add(model);
            }
            ms.computeIfAbsent(model, m -> new double[2])[micro == AccumulationBenchmark.EFFECTIVE_BATCH ? 1 : 0] =
                    r.getPrimaryResult().getStatistics().getPercentile(50);
        }
        System.out.printf("%-6s %14s %14s %20s%n", "model", "8x64 ms/step", "1x512 ms/step", "ratio 8x64 / 1x512");
        for (String m : models) {
            double[] v = ms.get(m);
            System.out.printf("%-6s %14.2f %14.2f %20.3f%n", m, v[0], v[1], v[0] / v[1]);
        }
        System.out.println("issue target: ratio at most 1.05 (accumulation within 5% of one big batch)");
    }
}
