package io.batchwise.benchmarks;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * decision, samples/s per training step (ops/s x batch), or the accumulation ratio. The step and
 * accumulation suites run Batchwise's benchmark and the hand-written direct oneDNN loop's counterpart
 * ({@link DirectStepBenchmark}, {@link DirectAccumulationBenchmark}) in the same JMH run and print both
 * side by side with their ratio. JMH's own progress goes to {@code log=FILE}.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.batchwise.benchmarks.Suites planner|step|accumulation
 * [forks=2] [warmups=3] [iterations=5] [seconds=1] [log=FILE] [jvm="-Dx=y ..."] [PARAM=V1,V2 ...]}, where
 * {@code jvm} adds options to the forked JVMs and any other {@code NAME=VALUES} restricts benchmark parameter
 * {@code NAME} to those values (e.g. {@code batch=128 model=lenet}; the default is every value).
 */
public final class Suites {
    private static final java.util.Set<String> OPTIONS = java.util.Set.of("forks", "warmups", "iterations", "seconds", "log", "jvm");

    private Suites() {
    }

    public static void main(String[] args) throws RunnerException {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: Suites planner|step|accumulation [forks=2] [warmups=3] [iterations=5] [seconds=1] [log=FILE] [jvm=...] [PARAM=V1,V2 ...]");
        }
        Map<String, String> o = new HashMap<>(Map.of("forks", "2", "warmups", "3", "iterations", "5", "seconds", "1"));
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            o.put(kv[0], kv[1]);
        }
        // Batchwise's benchmark, and for step and accumulation the direct oneDNN loop's counterpart in the same JMH run.
        List<Class<?>> suite = switch (args[0]) {
            case "planner" -> List.of(PlannerBenchmark.class);
            case "step" -> List.of(TrainingStepBenchmark.class, DirectStepBenchmark.class);
            case "accumulation" -> List.of(AccumulationBenchmark.class, DirectAccumulationBenchmark.class);
            default -> throw new IllegalArgumentException("unknown suite '" + args[0] + "': planner, step or accumulation");
        };
        TimeValue t = TimeValue.seconds(Integer.parseInt(o.get("seconds")));
        ChainedOptionsBuilder b = new OptionsBuilder();
        for (Class<?> c : suite) {
            b.include("^" + Pattern.quote(c.getName()) + "\\.");
        }
        b.forks(Integer.parseInt(o.get("forks")))
                .warmupIterations(Integer.parseInt(o.get("warmups"))).warmupTime(t)
                .measurementIterations(Integer.parseInt(o.get("iterations"))).measurementTime(t);
        if (o.containsKey("log")) {
            b.output(o.get("log"));
        }
        if (o.containsKey("jvm")) {
            b.jvmArgsAppend(o.get("jvm").trim().split("\\s+"));
        }
        for (Map.Entry<String, String> e : o.entrySet()) {
            if (!OPTIONS.contains(e.getKey())) {
                b.param(e.getKey(), e.getValue().split(",")); // e.g. batch=128 or model=mlp,lenet: only these values
            }
        }
        Collection<RunResult> results = new Runner(b.build()).run();
        System.out.printf("%s, OMP_NUM_THREADS=%s, medians over %s forks x %s iterations of %s s%s%n",
                suite.stream().map(Class::getSimpleName).collect(java.util.stream.Collectors.joining(" + ")),
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

    /** Whether {@code r} is a run of the direct oneDNN loop (else of Batchwise). */
    private static boolean direct(RunResult r) {
        return r.getParams().getBenchmark().startsWith(DirectStepBenchmark.class.getPackageName() + ".Direct");
    }

    /**
     * Per model and batch: samples/s (ops/s x batch) of Batchwise, of the direct loop with its batch resident and with
     * the batch copied in per step, and Batchwise's ratio to each; then Batchwise with its batch resident too and its
     * ratio to the resident direct loop (the same work on both sides).
     */
    private static void step(Collection<RunResult> results) {
        // "model batch" -> {Batchwise, direct, direct staged, Batchwise resident}
        Map<String, Statistics[]> byConfig = new LinkedHashMap<>();
        for (RunResult r : results) {
            BenchmarkParams p = r.getParams();
            String name = p.getBenchmark();
            int which = !direct(r) ? (name.endsWith(".residentStep") ? 3 : 0) : name.endsWith(".stagedStep") ? 2 : 1;
            byConfig.computeIfAbsent(p.getParam("model") + " " + p.getParam("batch"), c -> new Statistics[4])[which] =
                    r.getPrimaryResult().getStatistics();
        }
        System.out.printf("%-6s %6s %11s %20s %11s %20s %11s %20s %9s %9s %11s %9s%n", "model", "batch", "Batchwise",
                "(min .. max)", "direct", "(min .. max)", "staged", "(min .. max)", "B/direct", "B/staged", "B resident",
                "Br/direct");
        for (Map.Entry<String, Statistics[]> e : byConfig.entrySet()) {
            String[] c = e.getKey().split(" ");
            int batch = Integer.parseInt(c[1]);
            Statistics[] s = e.getValue();
            System.out.printf("%-6s %6d %11s %20s %11s %20s %11s %20s %9s %9s %11s %9s%n", c[0], batch, samples(s[0], batch),
                    range(s[0], batch), samples(s[1], batch), range(s[1], batch), samples(s[2], batch), range(s[2], batch),
                    ratio(s[0], s[1]), ratio(s[0], s[2]), samples(s[3], batch), ratio(s[3], s[1]));
        }
        System.out.println("samples/s (medians) = steps/s x batch; direct = the hand-written oneDNN loop (DirectLoop), same"
                + " model, batch, data and initial weights, batch resident in native memory; staged = the same with the batch"
                + " copied from its Java array into native memory each step (as Batchwise's trainer moves every batch);"
                + " B resident = Batchwise with its batch left in the input tensor (TrainingStepBenchmark.residentStep)");
    }

    private static String ratio(Statistics a, Statistics b) {
        return a == null || b == null ? "-" : String.format("%.2f", a.getPercentile(50) / b.getPercentile(50));
    }

    private static String samples(Statistics s, int batch) {
        return s == null ? "-" : String.format("%,.0f", s.getPercentile(50) * batch);
    }

    private static String range(Statistics s, int batch) {
        return s == null ? "-" : String.format("%,.0f .. %,.0f", s.getMin() * batch, s.getMax() * batch);
    }

    /** Per model: ms per step of 8 x 64 and of 1 x 512 and their ratio, for Batchwise and for the direct loop. */
    private static void accumulation(Collection<RunResult> results) {
        Map<String, double[]> ms = new LinkedHashMap<>(); // model -> {8 x 64, 1 x 512} x {Batchwise, direct}, median ms per step
        for (RunResult r : results) {
            String model = r.getParams().getParam("model");
            int micro = Integer.parseInt(r.getParams().getParam("micro"));
            double[] v = ms.computeIfAbsent(model, m -> new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN});
            v[(direct(r) ? 2 : 0) + (micro == AccumulationBenchmark.EFFECTIVE_BATCH ? 1 : 0)] =
                    r.getPrimaryResult().getStatistics().getPercentile(50);
        }
        System.out.printf("%-6s %-9s %14s %14s %20s%n", "model", "", "8x64 ms/step", "1x512 ms/step", "ratio 8x64 / 1x512");
        for (Map.Entry<String, double[]> e : ms.entrySet()) {
            double[] v = e.getValue();
            System.out.printf("%-6s %-9s %14.2f %14.2f %20.3f%n", e.getKey(), "Batchwise", v[0], v[1], v[0] / v[1]);
            System.out.printf("%-6s %-9s %14.2f %14.2f %20.3f%n", "", "direct", v[2], v[3], v[2] / v[3]);
            System.out.printf("%-6s %-9s %14.2f %14.2f%n", "", "B/direct", v[0] / v[2], v[1] / v[3]);
        }
        System.out.println("issue target: Batchwise ratio at most 1.05 (accumulation within 5% of one big batch); direct = the"
                + " hand-written oneDNN loop (DirectLoop); B/direct = Batchwise time / direct time");
    }
}
