package io.batchwise.cli;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.backend.Parameters;
import io.batchwise.inference.Model;
import io.batchwise.models.Models;
import io.batchwise.train.Trainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code batchwise export}: a checkpoint's weights and BatchNorm state as a model file. A checkpoint holds no graph,
 * so {@code --model} names the built-in one it was trained with; its fingerprint (parameter names and shapes) must
 * match the checkpoint's, or the checkpoint is refused.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a model file (graph, weights, BatchNorm statistics; no optimizer state) from a checkpoint"
                + " of a built-in model.", ""},
        footer = {"", "Example:", "  batchwise export --checkpoint runs/mlp/last.ckpt --model mlp --out model.bw"})
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "FILE", required = true, description = "The checkpoint (last.ckpt).")
    Path checkpoint;

    @Option(names = "--model", paramLabel = "mlp|lenet|resnet-small", required = true, converter = Specs.ModelConverter.class,
            description = "The built-in model the checkpoint was trained with.")
    String model;

    @Option(names = "--out", paramLabel = "FILE", required = true, description = "The model file to write, e.g. model.bw.")
    Path out;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        Graph graph = Models.byName(model);
        // The host's reference backend: the weights only pass through, in logical order, and need no native library.
        Planning.Chosen chosen = TrainCommand.chooseBackend(spec, "reference");
        try (Parameters p = chosen.backend().createParameters(graph, DataType.FLOAT32)) {
            Trainer.loadWeights(checkpoint, p);
            Model.save(p, out);
        }
        stdout.printf(Locale.ROOT, "wrote       %s: %s, %,d parameters, from %s%n", out, model, graph.parameterCount(), checkpoint);
        stdout.flush();
        return 0;
    }
}
