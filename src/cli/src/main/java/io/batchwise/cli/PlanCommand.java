package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.models.Models;
import io.batchwise.train.Dataset;
import io.batchwise.train.Optimizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code batchwise plan}: the plan for a model, batch and budget, without training. With the data flags of
 * {@code train} ({@link DataOptions}) it reads the data for its samples' shape, classes and count, so a user plans
 * the model of their own table or images; without them it plans for Fashion-MNIST without reading it.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print the plan for a model, batch and memory budget without training: the backend and why,"
                + " the micro-batch and accumulation steps, and the predicted peak memory against the budget,"
                + " layer by layer. The data flags are those of 'train': with --data-csv or --data-images the data is"
                + " read for its shape, classes and size; without them the plan is for Fashion-MNIST (not read).", ""},
        footer = {"", "Examples:", "  batchwise plan --model resnet-small --batch 1024 --memory-budget 64MiB",
                "  batchwise plan --model mlp --batch full --micro-batch 5000",
                "  batchwise plan --data-csv iris.csv --label species --layers dense:16 --batch full"})
final class PlanCommand implements Callable<Integer> {
    /** Fashion-MNIST's training set: what {@code --batch full} means without data flags or {@code --train-limit}. */
    static final int TRAIN_SIZE = 60_000;
    /** The seed of the held-out split when data is read: the sizes, all a plan needs, do not depend on it. */
    private static final long SPLIT_SEED = 1;

    @Spec
    CommandSpec spec;

    @Mixin
    SetupOptions setup;

    @Mixin
    PrecisionOption precision;

    @Mixin
    DataOptions dataOptions;

    /** The plan printed by the last call, for tests. */
    String printed;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        boolean modelGiven = spec.commandLine().getParseResult().hasMatchedOption("--model");
        dataOptions.check(spec, modelGiven);
        Planning.Chosen chosen = TrainCommand.chooseBackend(spec, setup.backend);
        Shape shape = Models.INPUT;
        int classes = Models.CLASSES;
        int n = setup.trainLimit != null ? setup.trainLimit : TRAIN_SIZE;
        String samples = "samples";
        if (dataOptions.anyGiven()) {
            DataOptions.Loaded data = dataOptions.load(spec, SPLIT_SEED, out);
            Dataset train = DataOptions.head(spec, data.train(), setup.trainLimit);
            shape = train.sampleShape();
            classes = data.classes();
            n = train.size();
            samples = "training samples" + (data.user() != null ? " (" + data.user().description() + ")" : "");
        }
        DataOptions.Model model = dataOptions.model(spec, setup.model, modelGiven, shape, classes);
        Graph graph = model.graph();
        Optimizer optimizer = setup.optimizer.create(null, null);
        int effective = setup.batch.size().resolve(n);
        Planning.Result r = Planning.decide(chosen.backend(), graph, optimizer.stateSlots(), effective, setup.microBatch.samples(),
                setup.memoryBudget.resolve(chosen.backend()), !setup.memoryBudget.auto(), precision.value);
        printed = Planning.describe(chosen, model.name(), graph, r, setup.batch.size() + " of " + n + " " + samples,
                TrainCommand.describe(optimizer), null);
        out.print(printed);
        out.flush();
        return 0;
    }
}
