package io.batchwise.cli;

import io.batchwise.models.Models;
import io.batchwise.Graph;
import io.batchwise.train.Optimizer;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code batchwise plan}: the plan for a model, batch and budget, without data or training. */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print the plan for a model, batch and memory budget without training: the backend and why,"
                + " the micro-batch and accumulation steps, and the predicted peak memory against the budget,"
                + " layer by layer.", ""},
        footer = {"", "Examples:", "  batchwise plan --model resnet-small --batch 1024 --memory-budget 64MiB",
                "  batchwise plan --model mlp --batch full --micro-batch 5000"})
final class PlanCommand implements Callable<Integer> {
    /** Fashion-MNIST's training set: what {@code --batch full} means without {@code --train-limit}. */
    static final int TRAIN_SIZE = 60_000;

    @Spec
    CommandSpec spec;

    @Mixin
    SetupOptions setup;

    @Option(names = "--precision", paramLabel = "fp32|bf16", defaultValue = "fp32",
            converter = Specs.PrecisionConverter.class,
            description = "Numeric policy: 'fp32', or 'bf16' mixed precision (bf16 activations and kernel weight copies,"
                    + " float32 master weights, gradients, optimizer state and accumulation; about half the activation"
                    + " memory, so the planner fits about twice the micro-batch). bf16 needs native CPU support"
                    + " (AVX512_BF16 or AMX) and is refused elsewhere. Default: ${DEFAULT-VALUE}.")
    io.batchwise.backend.Precision precision;

    /** The plan printed by the last call, for tests. */
    String printed;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Planning.Chosen chosen = TrainCommand.chooseBackend(spec, setup.backend);
        Graph graph = Models.byName(setup.model);
        Optimizer optimizer = setup.optimizer.create(null, null);
        int n = setup.trainLimit != null ? setup.trainLimit : TRAIN_SIZE;
        int effective = setup.batch.size().resolve(n);
        Planning.Result r = Planning.decide(chosen.backend(), graph, optimizer.stateSlots(), effective, setup.microBatch.samples(),
                setup.memoryBudget.resolve(chosen.backend()), !setup.memoryBudget.auto(), precision);
        printed = Planning.describe(chosen, setup.model, graph, r, setup.batch.size() + " of " + n + " samples",
                TrainCommand.describe(optimizer), null);
        out.print(printed);
        out.flush();
        return 0;
    }
}
