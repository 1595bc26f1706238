package io.batchwise.benchmarks;

import io.batchwise.backend.Backends;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.Locale;

/**
 * Wall time per training step, outside JMH, for tracing one configuration: {@code warm-up} steps, a line
 * {@code MARK} on stderr, then {@code steps} timed steps and {@code TIME x ms/step}. Under
 * {@code ONEDNN_VERBOSE=profile_exec} oneDNN prints every primitive it runs, with its implementation, layouts and
 * milliseconds; the lines after {@code MARK} are the timed steps (the per-primitive tables in RESULTS.md come from
 * these). Same model, data, optimizer and initial weights as {@link TrainingStepBenchmark} / {@link DirectStepBenchmark}.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.batchwise.benchmarks.StepTrace batchwise|direct|staged mlp|lenet BATCH
 * [MICRO=BATCH] [WARMUP=200] [STEPS=100]} ({@code staged}: the direct loop copying its batch from Java each step,
 * {@link DirectLoop#stagedStep}); {@code -Dbatchwise.precision=bf16} runs Batchwise in bf16 mixed precision.
 */
public final class StepTrace {
    private StepTrace() {
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            throw new IllegalArgumentException("usage: StepTrace batchwise|direct|staged mlp|lenet BATCH [MICRO] [WARMUP] [STEPS]");
        }
        String via = args[0];
        String model = args[1];
        int batch = Integer.parseInt(args[2]);
        int micro = args.length > 3 ? Integer.parseInt(args[3]) : batch;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 200;
        int steps = args.length > 5 ? Integer.parseInt(args[5]) : 100;
        if (batch % micro != 0) {
            throw new IllegalArgumentException("batch " + batch + " is not a whole number of micro-batches of " + micro);
        }
        InMemoryDataset data = Fixtures.images(batch, 1);
        int[] order = Fixtures.identity(batch);
        Runnable step;
        AutoCloseable owner;
        switch (via) {
            case "batchwise" -> {
                // -Dbatchwise.precision=bf16: the step in bf16 mixed precision (issue 20)
                Trainer t = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(0.01), batch, micro,
                        io.batchwise.backend.Precision.parse(System.getProperty("batchwise.precision", "fp32")));
                step = () -> t.trainBatch(data, order, 0, batch);
                owner = t;
            }
            case "direct" -> {
                DirectLoop d = Fixtures.direct(model, data, micro, batch / micro);
                step = d::step;
                owner = d;
            }
            case "staged" -> {
                DirectLoop d = Fixtures.direct(model, data, micro, batch / micro);
                step = d::stagedStep;
                owner = d;
            }
            default -> throw new IllegalArgumentException("batchwise, direct or staged, got '" + via + "'");
        }
        try (AutoCloseable o = owner) {
            for (int i = 0; i < warmup; i++) {
                step.run();
            }
            System.err.println("MARK");
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                step.run();
            }
            System.err.printf(Locale.ROOT, "TIME %.3f ms/step%n", (System.nanoTime() - t0) / 1e6 / steps);
        } catch (Exception e) {
            throw new IllegalStateException("closing the " + via + " step", e);
        }
    }
}
