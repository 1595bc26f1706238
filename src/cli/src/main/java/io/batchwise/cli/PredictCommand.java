package io.batchwise.cli;

import io.batchwise.loss.Targets;
import io.batchwise.inference.Evaluation;
import io.batchwise.inference.Model;
import io.batchwise.inference.Predictor;
import io.batchwise.data.LabelledData;
import io.batchwise.plan.Budget;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code batchwise predict}: a model file's accuracy, confusion matrix, per-class precision, recall and F1 and top-k
 * accuracy on Fashion-MNIST's test set, run by a {@link Predictor} in batches the memory planner chooses.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a model file (written by 'train' or 'export') on Fashion-MNIST's test set: accuracy,"
                + " top-k accuracy, the confusion matrix and per-class precision, recall and F1.", ""},
        footer = {"", "Examples:", "  batchwise predict --model-file runs/mlp/model.bw",
                "  batchwise predict --model-file model.bw --backend reference --top-k 3"})
final class PredictCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model-file", paramLabel = "FILE", required = true,
            description = "The model file (model.bw, as 'train' writes it beside the checkpoint).")
    Path modelFile;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with the Fashion-MNIST IDX files (only the two test files are read). Default:"
                    + " $BATCHWISE_DATA, else /usr/share/datasets/fashion-mnist.")
    Path data;

    @Option(names = "--data-csv", paramLabel = "FILE",
            description = "Evaluate on this CSV/TSV table instead (for a model trained with --data-csv): read with the"
                    + " classes, label column and standardisation recorded in data.json beside the model file.")
    Path csv;

    @Mixin
    CsvOptions csvOptions;

    @Option(names = "--data-images", paramLabel = "DIR",
            description = "Evaluate on this folder of class folders instead (for a model trained with --data-images),"
                    + " transformed as data.json beside the model file says.")
    Path images;

    @Option(names = "--backend", paramLabel = "auto|onednn|cudnn|reference", defaultValue = "auto",
            description = "Compute backend. auto: the most preferred one that can run here. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "2", converter = Specs.PositiveInt.class,
            description = "k of the top-k accuracy. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "4096", converter = Specs.PositiveInt.class,
            description = "The largest inference batch; the planner picks the largest that fits the budget, up to N."
                    + " Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Option(names = "--memory-budget", paramLabel = "auto|SIZE", defaultValue = "auto",
            converter = Specs.MemoryBudgetConverter.class,
            description = "Memory for the model and one inference pass, e.g. 64MiB. auto: as for 'train'."
                    + " Default: ${DEFAULT-VALUE}.")
    Specs.MemoryBudget memoryBudget;

    /** The evaluation of the last call, for tests. */
    Evaluation evaluation;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Planning.Chosen chosen = TrainCommand.chooseBackend(spec, backend);
        if ((csv != null ? 1 : 0) + (images != null ? 1 : 0) + (data != null ? 1 : 0) > 1) {
            throw new ParameterException(spec.commandLine(), "--data, --data-csv and --data-images are exclusive");
        }
        InMemoryDataset test;
        List<String> classNames;
        String what;
        if (csv != null || images != null) {
            LabelledData d;
            try {
                d = UserData.forPredict(modelFile.resolveSibling(UserData.SPEC_FILE), csv, csvOptions, images);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("Invalid value for option")) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
                throw e;
            }
            test = d.dataset();
            classNames = d.classes();
            what = csv != null ? csv.toString() : images.toString();
        } else {
            test = FashionMnist.test(data != null ? data : FashionMnist.defaultDir());
            classNames = FashionMnist.CLASS_NAMES;
            what = "Fashion-MNIST";
        }
        int classes = classNames.size();
        try (Model model = Model.load(modelFile, chosen.backend())) {
            if (!model.graph().inputs().get(0).outputShape().equals(test.sampleShape())
                    || !model.graph().output().outputShape().equals(io.batchwise.Shape.of(classes))) {
                throw new IllegalArgumentException(modelFile + " takes " + model.graph().inputs().get(0).outputShape()
                        + " and gives " + model.graph().output().outputShape() + "; " + what + " needs "
                        + test.sampleShape() + " -> (" + classes + ")");
            }
            if (topK > classes && !spec.commandLine().getParseResult().hasMatchedOption("--top-k")) {
                topK = classes; // the default 2 on a one-class table
            }
            if (topK > classes) {
                throw new ParameterException(spec.commandLine(), "Invalid value for option '--top-k': " + topK
                        + " is more than the " + classes + " classes");
            }
            Budget budget = memoryBudget.resolve(chosen.backend());
            try (Predictor p = model.predictor(Predictor.Options.defaults().withMaxBatch(maxBatch).withBudget(budget))) {
                int n = test.size();
                int[] order = new int[n];
                java.util.Arrays.setAll(order, i -> i);
                float[] x = new float[n * test.sampleShape().sizeAsInt()];
                test.copyInputs(order, 0, n, x);
                Targets.Labels labels = (Targets.Labels) test.targets(order, 0, n);
                int[] y = new int[n];
                java.util.Arrays.setAll(y, labels::label);
                out.printf(Locale.ROOT, "model       %s: %d nodes, %,d parameters%n", modelFile, model.graph().nodes().size(),
                        model.graph().parameterCount());
                out.printf("backend     %s (%s)%n", chosen.backend().name(), chosen.reason());
                out.printf(Locale.ROOT, "batch       %,d per inference pass (planner, at most %,d): predicted peak %s of budget %s%n",
                        p.batch(), maxBatch, Budget.human(p.plan().predictedPeakBytes()), budget);
                long t0 = System.nanoTime();
                evaluation = p.evaluate(x, n, y, topK);
                double seconds = (System.nanoTime() - t0) / 1e9;
                out.printf(Locale.ROOT, "time        %.2f s, %,.0f samples/s%n%n", seconds, n / seconds);
                out.print(evaluation.report(classNames));
                out.flush();
            }
        }
        return 0;
    }
}
