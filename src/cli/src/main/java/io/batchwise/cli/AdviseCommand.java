package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Precision;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.plan.Budget;
import io.batchwise.train.Advisor;
import io.batchwise.train.Dataset;
import io.batchwise.train.Optimizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code batchwise advise}: which effective batch to train with. A short probe run measures the
 * gradient noise scale B_simple; with the memory planner's largest micro-batch it gives a recommended
 * effective batch and its learning rate ({@link Advisor}), and the reasons in a few lines.
 */
@Command(name = "advise", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Recommend an effective batch and its learning rate: the memory planner gives the largest micro-batch"
                + " that fits, a short probe run (--probe-steps, --probe-seconds) measures the gradient noise scale B_simple"
                + " (McCandlish et al. 2018), and the learning rate follows the linear scaling rule with a warm-up.", ""},
        footer = {"", "--batch is the probe's batch and the batch --lr was tuned for (default the optimizer's default rate).",
                "The data and model flags are those of 'train' (--data-csv, --data-images, --layers, ...).",
                "", "Examples:", "  batchwise advise --model mlp", "  batchwise advise --model lenet --batch 64 --lr 0.002 --memory-budget 256MiB",
                "  batchwise advise --data-csv iris.csv --label species --layers dense:16 --batch 16"})
final class AdviseCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SetupOptions setup;

    @Mixin
    PrecisionOption precision;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--lr", paramLabel = "RATE", converter = Specs.PositiveDouble.class,
            description = "Base learning rate, tuned for --batch. Default: the optimizer's (as for train).")
    Double lr;

    @Option(names = "--weight-decay", paramLabel = "W", converter = Specs.NonNegativeDouble.class,
            description = "Weight decay, as for train.")
    Double weightDecay;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of the probe's initial weights and data order. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--probe-steps", paramLabel = "N", defaultValue = "200", converter = Specs.PositiveLong.class,
            description = "Longest probe, in optimizer steps. Default: ${DEFAULT-VALUE}.")
    long probeSteps;

    @Option(names = "--probe-seconds", paramLabel = "S", defaultValue = "60", converter = Specs.PositiveDouble.class,
            description = "Longest probe, in seconds (it stops at whichever bound comes first). Default: ${DEFAULT-VALUE}.")
    double probeSeconds;

    /** The last advice, for tests. */
    Advisor.Result result;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        boolean modelGiven = spec.commandLine().getParseResult().hasMatchedOption("--model");
        dataOptions.check(spec, modelGiven);
        Planning.Chosen chosen = TrainCommand.chooseBackend(spec, setup.backend);
        Backend backend = chosen.backend();
        Optimizer optimizer = setup.optimizer.create(lr, weightDecay);
        if (setup.batch.samples() == 1) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--batch': the probe needs at least 2"
                    + " samples per step (it compares the gradients of the two halves), got 1");
        }
        DataOptions.Loaded data = dataOptions.load(spec, seed, out);
        Dataset train = DataOptions.head(spec, data.train(), setup.trainLimit);
        DataOptions.Model model = dataOptions.model(spec, setup.model, modelGiven, train.sampleShape(), data.classes());
        Graph graph = model.graph();
        int n = train.size();
        int batch = setup.batch.size().resolve(n);
        if (batch < 2) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--batch': the probe needs at least 2"
                    + " samples per step (it compares the gradients of the two halves), got " + batch);
        }
        out.printf(Locale.ROOT, "backend     %s (%s)%n", backend.name(), chosen.reason());
        out.printf(Locale.ROOT, "model       %s: %,d parameters; %,d training samples of %s%n", model.name(),
                graph.parameterCount(), n, data.user() != null ? data.user().description() : "Fashion-MNIST");
        boolean bf16 = precision.value == Precision.BF16_MIXED;
        out.printf(Locale.ROOT, "probe       up to %,d steps or %.0f s at batch %d, %s%s%n", probeSteps, probeSeconds, batch,
                TrainCommand.describe(optimizer), bf16 ? ", bf16 mixed precision" : "");
        out.flush();

        Advisor.Builder b = Advisor.builder(graph, backend).loss(new SoftmaxCrossEntropy()).optimizer(optimizer).batch(batch)
                .precision(precision.value).seed(seed).maxSteps(probeSteps).maxSeconds(probeSeconds);
        Budget budget = setup.memoryBudget.resolve(backend);
        if (setup.microBatch.auto()) {
            b.memoryBudget(budget);
        } else {
            b.microBatch(setup.microBatch.samples());
        }
        Advisor.Result r = b.advise(train);
        result = r;

        out.println();
        out.printf(Locale.ROOT, "micro-batch %,d (%s)%n", r.memoryMicroBatch(),
                r.plannedByMemory() ? "the largest that fits the memory budget " + Budget.human(budget.bytes()) : "--micro-batch");
        out.printf(Locale.ROOT, "B_simple    %s after %,d probe steps (%.1f s)%n", Double.isFinite(r.noiseScale())
                ? String.format(Locale.ROOT, "%.0f", r.noiseScale()) : String.valueOf(r.noiseScale()), r.probeSteps(), r.probeSeconds());
        out.printf(Locale.ROOT, "recommend   effective batch %,d = %d x %,d, learning rate %s%s%n", r.recommendedBatch(),
                r.accumulationSteps(), r.recommendedMicroBatch(), num(r.learningRate()),
                r.warmupSteps() > 0 ? " after a warm-up of " + r.warmupSteps() + " steps" : "");
        out.println();
        out.println("why");
        for (String line : r.reasoning()) {
            out.println("  - " + line);
        }
        out.println();
        String schedule = r.warmupSteps() > 0 ? "warmup:" + r.warmupSteps() + "+cosine" : "cosine";
        // The same data and model flags as this command line, so that the command trains what was probed.
        out.printf(Locale.ROOT, "try         batchwise train%s%s --optimizer %s --batch %d --micro-batch %d --lr %s --schedule %s%s%n",
                model.builtIn() ? " --model " + setup.model : "", DataOptions.asTyped(spec, Set.of("--train-limit")),
                setup.optimizer, r.recommendedBatch(), r.recommendedMicroBatch(), num(r.learningRate()), schedule,
                bf16 ? " --precision bf16" : "");
        out.flush();
        return 0;
    }

    private static String num(double v) {
        return new java.math.BigDecimal(v).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
    }
}
