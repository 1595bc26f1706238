package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.models.Models;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * What to train on and which model: the flags {@code train}, {@code plan}, {@code advise} and {@code export} share
 * ({@code --data}, the user's data of {@link UserData.Options}, {@code --layers}), read and checked in one place. With
 * no data flag the data is Fashion-MNIST; with {@code --data-csv} or {@code --data-images} the model is described by
 * {@code --layers} (default by the samples' shape) unless {@code --model} names a built-in one that fits.
 */
final class DataOptions {
    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with the Fashion-MNIST IDX files (gzipped or not). Default: $BATCHWISE_DATA, else"
                    + " /usr/share/datasets/fashion-mnist (Debian/Ubuntu package dataset-fashion-mnist).")
    Path data;

    @Mixin
    UserData.Options userData;

    @Option(names = "--layers", paramLabel = "DESC",
            description = "A model described in place of --model: items dense:N, conv:C[xK], pool[:K], gap, bn, dropout:P"
                    + " (or linear), comma-separated, each Dense and conv followed by ReLU; a Dense layer to the classes is"
                    + " added. Default with --data-csv: " + ModelDescription.DEFAULT_TABLE + "; with --data-images: "
                    + ModelDescription.DEFAULT_IMAGE + " (or --model NAME for 1x28x28 images of 10 classes).")
    String layers;

    /** The data read: the training and test sets, and the user's data (null for Fashion-MNIST). */
    record Loaded(Dataset train, InMemoryDataset test, UserData.Loaded user) {
        int classes() {
            return user != null ? user.classes().size() : FashionMnist.CLASSES;
        }
    }

    /** The model: its name as printed, its graph, and whether it is a built-in one. */
    record Model(String name, Graph graph, boolean builtIn) {
    }

    /** Refuses flags that do not go together; {@code modelGiven}: whether the command line has {@code --model}. */
    void check(CommandSpec spec, boolean modelGiven) {
        String conflict = userData.conflict();
        if (conflict == null && data != null && userData.given()) {
            conflict = "--data (Fashion-MNIST) and --data-csv/--data-images are exclusive";
        }
        if (conflict == null && layers != null && modelGiven) {
            conflict = "--model and --layers are exclusive";
        }
        if (conflict != null) {
            throw new ParameterException(spec.commandLine(), conflict);
        }
    }

    /** Whether the command line names the user's data (--data-csv, --data-images). */
    boolean userGiven() {
        return userData.given();
    }

    /** Whether any data flag is given, Fashion-MNIST's --data included. */
    boolean anyGiven() {
        return data != null || userData.given();
    }

    /** Reads the data the flags name (printing where from); {@code seed} chooses a held-out test set of the user's data. */
    Loaded load(CommandSpec spec, long seed, PrintWriter stdout) throws IOException {
        if (userData.given()) {
            stdout.printf("data        %s%n", userData.csv != null ? "CSV " + userData.csv : "images " + userData.images);
            stdout.flush();
            try {
                UserData.Loaded user = UserData.load(userData, seed);
                return new Loaded(user.train(), user.test(), user);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("Invalid value for option")) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
                throw e;
            }
        }
        Path dataDir = data != null ? data : FashionMnist.defaultDir();
        stdout.printf("data        Fashion-MNIST from %s%n", dataDir);
        stdout.flush();
        FashionMnist.Data d = FashionMnist.load(dataDir);
        return new Loaded(d.train(), d.test(), null);
    }

    /** The first {@code limit} training samples ({@code --train-limit}); null: all. */
    static Dataset head(CommandSpec spec, Dataset train, Integer limit) {
        if (limit == null) {
            return train;
        }
        if (limit > train.size()) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--train-limit': " + limit
                    + " is more than the " + train.size() + " training samples");
        }
        if (!(train instanceof InMemoryDataset all)) {
            throw new ParameterException(spec.commandLine(), "--train-limit does not apply to sharded data");
        }
        return all.head(limit);
    }

    /**
     * The model for samples of {@code sampleShape} and {@code classes} classes: the built-in {@code modelName} unless
     * {@code --layers} is given or the data is the user's and {@code --model} is not ({@code modelGiven}); a built-in
     * model must fit the data.
     */
    Model model(CommandSpec spec, String modelName, boolean modelGiven, Shape sampleShape, int classes) {
        boolean builtIn = layers == null && (!userData.given() || modelGiven);
        if (builtIn) {
            if (!sampleShape.equals(Models.INPUT) || classes != Models.CLASSES) {
                throw new ParameterException(spec.commandLine(), "Invalid value for option '--model': " + modelName + " takes "
                        + Models.INPUT + " to " + Models.CLASSES + " classes; this data has samples " + sampleShape
                        + " and " + classes + " classes: describe a model with --layers");
            }
            return new Model(modelName, Models.byName(modelName), true);
        }
        String description = layers != null ? layers : ModelDescription.forShape(sampleShape);
        try {
            return new Model("layers " + description, ModelDescription.build(description, sampleShape, classes), false);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--layers': " + e.getMessage());
        }
    }

    /**
     * The data and model flags of this command line as the user typed them, e.g. {@code --data-csv iris.csv --label
     * species --layers dense:16}, to print a command that trains on the same data; empty for Fashion-MNIST defaults.
     */
    static String asTyped(CommandSpec spec, Set<String> also) {
        Set<String> shared = new HashSet<>(also);
        for (OptionSpec o : CommandSpec.forAnnotatedObject(new DataOptions()).options()) {
            shared.add(o.longestName());
        }
        StringBuilder sb = new StringBuilder();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!shared.contains(o.longestName())) {
                continue;
            }
            if (o.arity().max() == 0) {
                boolean on = Boolean.TRUE.equals(o.getValue());
                sb.append(' ').append(on || !o.negatable() ? o.longestName() : o.longestName().replaceFirst("^--", "--no-"));
                continue;
            }
            for (String v : o.originalStringValues()) {
                sb.append(' ').append(o.longestName()).append(' ')
                        .append(v.isEmpty() || v.matches(".*[\\s'\"].*") ? "'" + v + "'" : v);
            }
        }
        return sb.toString();
    }
}
