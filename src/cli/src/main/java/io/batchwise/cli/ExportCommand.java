package io.batchwise.cli;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Parameters;
import io.batchwise.inference.Model;
import io.batchwise.models.Models;
import io.batchwise.train.Trainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code batchwise export}: a checkpoint's weights and BatchNorm state as a model file. A checkpoint holds no graph, so
 * the command line names the model it was trained with, with the flags {@code train} took ({@link DataOptions}):
 * {@code --model} for a built-in one, or the data flags and {@code --layers} for a model of the user's data (the data is
 * read for its shape and classes). The graph's fingerprint (parameter names and shapes) must match the checkpoint's, or
 * the checkpoint is refused. For the user's data, {@code data.json} beside the checkpoint is copied beside the model
 * file, where {@code predict} looks for it.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a model file (graph, weights, BatchNorm statistics; no optimizer state) from a checkpoint."
                + " Name the model as for 'train': --model for a built-in one, or the data flags (--data-csv, --data-images"
                + " and theirs) and --layers for a model of your own data.", ""},
        footer = {"", "Examples:", "  batchwise export --checkpoint runs/mlp/last.ckpt --model mlp --out model.bw",
                "  batchwise export --checkpoint runs/iris/last.ckpt --data-csv iris.csv --label species --layers dense:16"
                        + " --out iris.bw"})
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "FILE", required = true, description = "The checkpoint (last.ckpt).")
    Path checkpoint;

    @Option(names = "--model", paramLabel = "mlp|lenet|resnet-small", converter = Specs.ModelConverter.class,
            description = "The built-in model the checkpoint was trained with.")
    String model;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--out", paramLabel = "FILE", required = true, description = "The model file to write, e.g. model.bw.")
    Path out;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        boolean modelGiven = model != null;
        dataOptions.check(spec, modelGiven);
        if (!modelGiven && dataOptions.layers == null && !dataOptions.userGiven()) {
            throw new ParameterException(spec.commandLine(), "Missing the model: --model NAME, or the data flags and --layers"
                    + " the checkpoint was trained with");
        }
        Shape shape = Models.INPUT;
        int classes = Models.CLASSES;
        if (dataOptions.userGiven()) {
            // Only the samples' shape and the classes are used; the split's seed does not change them.
            DataOptions.Loaded data = dataOptions.load(spec, 1, stdout);
            shape = data.train().sampleShape();
            classes = data.classes();
        }
        DataOptions.Model m = dataOptions.model(spec, model, modelGiven, shape, classes);
        Graph graph = m.graph();
        // The host's reference backend: the weights only pass through, in logical order, and need no native library.
        Planning.Chosen chosen = TrainCommand.chooseBackend(spec, "reference");
        try (Parameters p = chosen.backend().createParameters(graph, DataType.FLOAT32)) {
            Trainer.loadWeights(checkpoint, p);
            Model.save(p, out);
        }
        stdout.printf(Locale.ROOT, "wrote       %s: %s, %,d parameters, from %s%n", out, m.name(), graph.parameterCount(), checkpoint);
        if (dataOptions.userGiven()) {
            Path saved = checkpoint.toAbsolutePath().resolveSibling(UserData.SPEC_FILE);
            Path target = out.toAbsolutePath().resolveSibling(UserData.SPEC_FILE);
            if (!Files.isRegularFile(saved)) {
                stdout.printf(Locale.ROOT, "note        no %s beside the checkpoint: 'predict' needs the one 'train' wrote,"
                        + " beside %s%n", UserData.SPEC_FILE, out);
            } else if (!Files.isSameFile(saved.getParent(), target.getParent())) {
                AtomicFiles.write(target, Files.readAllBytes(saved));
                stdout.printf(Locale.ROOT, "wrote       %s (how 'predict' reads and standardises new data), from %s%n", target, saved);
            }
        }
        stdout.flush();
        return 0;
    }
}
