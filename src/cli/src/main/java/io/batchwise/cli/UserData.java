package io.batchwise.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.batchwise.data.CsvFormat;
import io.batchwise.data.ImageFolder;
import io.batchwise.data.ImageTransform;
import io.batchwise.data.LabelledData;
import io.batchwise.data.ShardedDataset;
import io.batchwise.data.Standardization;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The user's own data for {@code train}: a CSV/TSV table or a folder of image folders, a test set (a file or folder,
 * else a seeded share of the training data), standardisation fitted on the training part; and {@code data.json}, which
 * {@code predict} reads to read new data the same way (format, classes, standardisation).
 */
final class UserData {
    static final String SPEC_FILE = "data.json";

    /** What {@code train} trains and tests on, and what {@code data.json} records. */
    record Loaded(String description, Dataset train, InMemoryDataset test, List<String> classes,
            Map<String, Object> spec) {
    }

    /** The flags of {@code train} that name the user's data. */
    static final class Options {
        @Option(names = "--data-csv", paramLabel = "FILE",
                description = "Train on this CSV/TSV table instead of Fashion-MNIST: numeric feature columns and a label"
                        + " column (--label). Empty lines are skipped; a missing or non-numeric value is an error naming"
                        + " the line and column. Given several times: each file is a shard, read when needed (data"
                        + " bigger than memory; needs --test-csv).")
        List<Path> csvFiles = new ArrayList<>();

        @Option(names = "--shard-window", paramLabel = "N", defaultValue = "4", converter = Specs.PositiveInt.class,
                description = "With several --data-csv shards: N shards' samples are shuffled together (2N are held in"
                        + " memory); the shards' order is shuffled too, by --seed and epoch. Default: ${DEFAULT-VALUE}.")
        int shardWindow;

        /** The one (first) --data-csv file, or null. */
        Path csv;

        @Option(names = "--test-csv", paramLabel = "FILE",
                description = "The test table (same columns). Default: --test-fraction of --data-csv's rows, held out.")
        Path testCsv;

        @Mixin
        CsvOptions csvOptions;

        @Option(names = "--data-images", paramLabel = "DIR",
                description = "Train on a folder with one sub-folder of images per class (PNG, JPEG, BMP, GIF, TIFF) instead"
                        + " of Fashion-MNIST. Hidden files and files without an image suffix are skipped.")
        Path images;

        @Option(names = "--test-images", paramLabel = "DIR",
                description = "The test folder (same class folders). Default: --test-fraction of --data-images, held out.")
        Path testImages;

        @Option(names = "--image-size", paramLabel = "HxW", defaultValue = "28x28",
                description = "Images: resized (bilinear) to H x W. Default: ${DEFAULT-VALUE}.")
        String imageSize;

        @Option(names = "--channels", paramLabel = "grey|rgb", defaultValue = "grey",
                description = "Images: grey (1 channel, BT.601 luma) or rgb (3). Default: ${DEFAULT-VALUE}.")
        String channels;

        @Option(names = "--test-fraction", paramLabel = "F", defaultValue = "0.1",
                description = "Without --test-csv/--test-images: this share of the samples (chosen by --seed) is held out"
                        + " as the test set. Default: ${DEFAULT-VALUE}.")
        double testFraction;

        @Option(names = "--standardize", negatable = true, defaultValue = "true", fallbackValue = "true",
                description = "Standardise inputs with the training part's mean and standard deviation (CSV: per column;"
                        + " images: per channel, after scaling to [0, 1]); the same statistics apply to the test set and,"
                        + " through data.json, to 'predict'. Default: on.")
        boolean standardize;

        boolean given() {
            csv = csvFiles.isEmpty() ? null : csvFiles.get(0);
            return csv != null || images != null;
        }

        /** The flag that is out of place, or null. */
        String conflict() {
            given();
            if (csv != null && images != null) {
                return "--data-csv and --data-images are exclusive";
            }
            if (csvFiles.size() > 1 && testCsv == null) {
                return "several --data-csv shards need --test-csv (no share of streamed data is held out)";
            }
            if (testCsv != null && csv == null) {
                return "--test-csv needs --data-csv";
            }
            if (testImages != null && images == null) {
                return "--test-images needs --data-images";
            }
            if (!(testFraction > 0 && testFraction < 1)) {
                return "Invalid value for option '--test-fraction': " + testFraction + " (between 0 and 1, exclusive)";
            }
            return null;
        }
    }

    private UserData() {
    }

    /** Reads, splits and standardises the data the flags name; {@code seed} chooses a held-out test set. */
    static Loaded load(Options o, long seed) throws IOException {
        o.given();
        if (o.csvFiles.size() > 1) {
            return loadShards(o, seed);
        }
        Map<String, Object> spec = new LinkedHashMap<>();
        LabelledData train;
        LabelledData test = null;
        String what;
        if (o.csv != null) {
            CsvFormat format = o.csvOptions.format(null);
            train = format.read(o.csv);
            if (o.testCsv != null) {
                test = format.withClasses(train.classes()).read(o.testCsv);
                if (!test.dataset().sampleShape().equals(train.dataset().sampleShape())) {
                    throw new IllegalArgumentException(o.testCsv + " has " + test.features().size() + " feature columns, "
                            + o.csv + " has " + train.features().size());
                }
            }
            what = "CSV " + o.csv + (o.testCsv != null ? ", test " + o.testCsv : "");
            spec.put("source", "csv");
            spec.put("label", o.csvOptions.label);
            spec.put("features", train.features());
        } else {
            ImageTransform t = transform(o);
            train = ImageFolder.read(o.images, t);
            if (o.testImages != null) {
                test = ImageFolder.read(o.testImages, t, train.classes());
            }
            what = "images " + o.images + (o.testImages != null ? ", test " + o.testImages : "") + ", " + t.channels()
                    + "x" + t.height() + "x" + t.width();
            spec.put("source", "images");
            spec.put("height", t.height());
            spec.put("width", t.width());
            spec.put("channels", t.channels() == 1 ? "grey" : "rgb");
        }
        spec.put("classes", train.classes());
        InMemoryDataset trainSet = train.dataset();
        InMemoryDataset testSet;
        if (test != null) {
            testSet = test.dataset();
        } else {
            InMemoryDataset[] parts = split(trainSet, o.testFraction, seed);
            trainSet = parts[0];
            testSet = parts[1];
            what += String.format(Locale.ROOT, ", %.0f%% held out for testing (seed %d)", 100 * o.testFraction, seed);
        }
        if (o.standardize) {
            Standardization s = o.csv != null ? Standardization.perFeature(trainSet) : Standardization.perChannel(trainSet);
            trainSet = s.apply(trainSet);
            testSet = s.apply(testSet);
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("mean", s.mean());
            st.put("std", s.std());
            st.put("group", s.group());
            spec.put("standardization", st);
            what += o.csv != null ? "; standardised per column" : "; standardised per channel";
        } else {
            spec.put("standardization", null);
        }
        return new Loaded(what, trainSet, testSet, train.classes(), spec);
    }

    /**
     * Several CSV files as a {@link ShardedDataset}: one pass to count and check them and settle the classes, one for
     * the standardisation's statistics, then training reads them shard by shard.
     */
    private static Loaded loadShards(Options o, long seed) throws IOException {
        CsvFormat format = o.csvOptions.format(null);
        ShardedDataset raw = ShardedDataset.csv(o.csvFiles, format, null, o.shardWindow);
        List<String> classes = raw.classes();
        CsvFormat fixed = format.withClasses(classes);
        LabelledData test = fixed.read(o.testCsv);
        if (!test.dataset().sampleShape().equals(raw.sampleShape())) {
            throw new IllegalArgumentException(o.testCsv + " has " + test.features().size() + " feature columns, the shards "
                    + raw.sampleShape().dim(0));
        }
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("source", "csv");
        spec.put("label", o.csvOptions.label);
        spec.put("features", test.features());
        spec.put("classes", classes);
        String what = String.format(Locale.ROOT, "CSV %d shards %s ... %s, shuffled %d at a time, test %s", o.csvFiles.size(),
                o.csvFiles.get(0), o.csvFiles.get(o.csvFiles.size() - 1), raw.window(), o.testCsv);
        Dataset train = raw;
        InMemoryDataset testSet = test.dataset();
        if (o.standardize) {
            Standardization s = Standardization.perFeature(raw);
            train = ShardedDataset.csv(o.csvFiles, fixed, s, o.shardWindow);
            testSet = s.apply(testSet);
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("mean", s.mean());
            st.put("std", s.std());
            st.put("group", s.group());
            spec.put("standardization", st);
            what += "; standardised per column";
        } else {
            spec.put("standardization", null);
        }
        return new Loaded(what, train, testSet, classes, spec);
    }

    static ImageTransform transform(Options o) {
        String[] hw = o.imageSize.toLowerCase(Locale.ROOT).split("x", -1);
        int h;
        int w;
        try {
            h = Integer.parseInt(hw[0].trim());
            w = hw.length == 2 ? Integer.parseInt(hw[1].trim()) : h;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid value for option '--image-size': '" + o.imageSize + "' (HxW, e.g. 28x28)");
        }
        if (hw.length > 2 || h < 1 || w < 1) {
            throw new IllegalArgumentException("Invalid value for option '--image-size': '" + o.imageSize + "' (HxW, e.g. 28x28)");
        }
        return switch (o.channels.toLowerCase(Locale.ROOT)) {
            case "grey", "gray", "1" -> ImageTransform.grey(h, w);
            case "rgb", "3" -> ImageTransform.rgb(h, w);
            default -> throw new IllegalArgumentException("Invalid value for option '--channels': '" + o.channels + "' (grey or rgb)");
        };
    }

    /** {@code [train, test]}: a seeded share {@code fraction} of the samples (at least 1) held out, both in file order. */
    static InMemoryDataset[] split(InMemoryDataset data, double fraction, long seed) {
        int n = data.size();
        int held = (int) Math.max(1, Math.round(n * fraction));
        if (held >= n) {
            throw new IllegalArgumentException("only " + n + " samples: too few to hold out a test set; give one"
                    + " (--test-csv/--test-images)");
        }
        int[] perm = new int[n];
        Arrays.setAll(perm, i -> i);
        SplittableRandom r = new SplittableRandom(seed ^ 0x7E57_5EEDL);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        boolean[] isTest = new boolean[n];
        for (int i = 0; i < held; i++) {
            isTest[perm[i]] = true;
        }
        List<Integer> a = new ArrayList<>();
        List<Integer> b = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (isTest[i] ? b : a).add(i);
        }
        return new InMemoryDataset[] {subset(data, a), subset(data, b)};
    }

    private static InMemoryDataset subset(InMemoryDataset data, List<Integer> which) {
        int[] idx = which.stream().mapToInt(Integer::intValue).toArray();
        float[] x = new float[idx.length * data.sampleShape().sizeAsInt()];
        data.copyInputs(idx, 0, idx.length, x);
        Targets.Labels l = (Targets.Labels) data.targets(idx, 0, idx.length);
        int[] y = new int[idx.length];
        Arrays.setAll(y, l::label);
        return InMemoryDataset.labelled(x, data.sampleShape(), y);
    }

    /** Writes {@code data.json} (atomically). */
    static void writeSpec(Path file, Map<String, Object> spec) throws IOException {
        AtomicFiles.write(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(spec));
    }

    /** For {@code predict}: the data at {@code csv} or {@code images}, read and standardised as {@code data.json} says. */
    static LabelledData forPredict(Path specFile, Path csv, CsvOptions csvOptions, Path images) throws IOException {
        if (!Files.isRegularFile(specFile)) {
            throw new IOException("no " + specFile + ": 'train' writes it beside model.bw when it trains on --data-csv or"
                    + " --data-images; it says how to read and standardise new data");
        }
        JsonNode s = new ObjectMapper().readTree(specFile.toFile());
        String source = s.path("source").asText();
        List<String> classes = new ArrayList<>();
        s.path("classes").forEach(c -> classes.add(c.asText()));
        LabelledData d;
        if (csv != null) {
            if (!source.equals("csv")) {
                throw new IllegalArgumentException(specFile + ": the model was trained on " + source + ", not a CSV table");
            }
            String label = s.path("label").isTextual() ? s.path("label").asText() : null;
            d = csvOptions.format(label).withClasses(classes).read(csv);
            if (d.features().size() != s.path("features").size()) {
                throw new IllegalArgumentException(csv + " has " + d.features().size() + " feature columns; the model was"
                        + " trained on " + s.path("features").size() + " " + s.path("features"));
            }
        } else {
            if (!source.equals("images")) {
                throw new IllegalArgumentException(specFile + ": the model was trained on " + source + ", not images");
            }
            int h = s.path("height").asInt();
            int w = s.path("width").asInt();
            ImageTransform t = s.path("channels").asText().equals("rgb") ? ImageTransform.rgb(h, w) : ImageTransform.grey(h, w);
            d = ImageFolder.read(images, t, classes);
        }
        JsonNode st = s.path("standardization");
        if (st.isObject()) {
            Standardization z = Standardization.of(floats(st.path("mean")), floats(st.path("std")), st.path("group").asInt());
            d = new LabelledData(z.apply(d.dataset()), d.classes(), d.features());
        }
        return d;
    }

    private static float[] floats(JsonNode a) {
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) a.get(i).asDouble();
        }
        return f;
    }
}
