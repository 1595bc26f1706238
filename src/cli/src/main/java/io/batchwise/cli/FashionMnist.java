package io.batchwise.cli;

import io.batchwise.Shape;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Fashion-MNIST from its four IDX files (gzipped or not) in one folder.
 *
 * <p>Pixels: {@code x = (p / 255 - MEAN) / STD} with the mean and standard deviation of the 60,000
 * training images ({@link #MEAN}, {@link #STD}), fixed constants so that a subset and the test
 * set get the same transform. Samples have shape {@code (1, 28, 28)}; labels are 0 to 9.
 */
final class FashionMnist {
    /** Mean of the training images' pixels, scaled to [0, 1]. */
    static final double MEAN = 0.2860;
    /** Standard deviation of the training images' pixels, scaled to [0, 1]. */
    static final double STD = 0.3530;
    static final int ROWS = 28;
    static final int COLS = 28;
    static final int CLASSES = 10;
    static final Shape SAMPLE = Shape.of(1, ROWS, COLS);
    static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    static final String ENV = "BATCHWISE_DATA";

    static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    static final String TEST_LABELS = "t10k-labels-idx1-ubyte";
    /** The classes' names, by label. */
    static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot");

    private FashionMnist() {
    }

    /** The training and test sets. */
    record Data(Path dir, InMemoryDataset train, InMemoryDataset test) {
    }

    /** The data folder is missing or incomplete; the message says how to get the data. */
    static final class MissingDataException extends IOException {
        private static final long serialVersionUID = 1L;

        MissingDataException(String message) {
            super(message);
        }
    }

    /** {@code --data}, else {@code $BATCHWISE_DATA}, else {@link #DEFAULT_DIR}. */
    static Path defaultDir() {
        String env = System.getenv(ENV);
        return env != null && !env.isBlank() ? Path.of(env) : DEFAULT_DIR;
    }

    /** How to get the data, for error messages. */
    static String howToGet(Path dir) {
        return "Fashion-MNIST is expected in " + dir + " as the four IDX files " + TRAIN_IMAGES + ", " + TRAIN_LABELS + ", "
                + TEST_IMAGES + ", " + TEST_LABELS + " (each may end in .gz).\n"
                + "To get it: on Debian and Ubuntu, install the package dataset-fashion-mnist"
                + " (sudo apt-get install dataset-fashion-mnist), which puts them in " + DEFAULT_DIR + ";\n"
                + "or download them from the Fashion-MNIST project (github.com/zalandoresearch/fashion-mnist) into a folder"
                + " and pass it with --data DIR or the environment variable " + ENV + ".";
    }

    static Data load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new MissingDataException("no data folder " + dir + ".\n" + howToGet(dir));
        }
        List<String> missing = new ArrayList<>();
        Path trainImages = find(dir, TRAIN_IMAGES, missing);
        Path trainLabels = find(dir, TRAIN_LABELS, missing);
        Path testImages = find(dir, TEST_IMAGES, missing);
        Path testLabels = find(dir, TEST_LABELS, missing);
        if (!missing.isEmpty()) {
            throw new MissingDataException("the data folder " + dir + " lacks " + String.join(", ", missing) + ".\n" + howToGet(dir));
        }
        return new Data(dir, dataset(trainImages, trainLabels), dataset(testImages, testLabels));
    }

    /** The test set alone (what {@code predict} reads): the two test files must be there, the training files need not. */
    static InMemoryDataset test(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new MissingDataException("no data folder " + dir + ".\n" + howToGet(dir));
        }
        List<String> missing = new ArrayList<>();
        Path images = find(dir, TEST_IMAGES, missing);
        Path labels = find(dir, TEST_LABELS, missing);
        if (!missing.isEmpty()) {
            throw new MissingDataException("the data folder " + dir + " lacks " + String.join(", ", missing) + ".\n" + howToGet(dir));
        }
        return dataset(images, labels);
    }

    private static Path find(Path dir, String name, List<String> missing) {
        for (String candidate : new String[] {name + ".gz", name}) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        missing.add(name + "[.gz]");
        return null;
    }

    /** Reads and checks one images file and its labels file, and pairs them. */
    static InMemoryDataset dataset(Path imagesFile, Path labelsFile) throws IOException {
        Idx.Images images = Idx.readImages(imagesFile);
        if (images.rows() != ROWS || images.cols() != COLS) {
            throw new Idx.FormatException(imagesFile, images.rows() != ROWS ? 8 : 12, images.gzipped(), "images are "
                    + images.rows() + "x" + images.cols() + ", expected " + ROWS + "x" + COLS);
        }
        if (images.count() == 0) {
            throw new Idx.FormatException(imagesFile, 4, images.gzipped(), "no images");
        }
        Idx.Labels labels = Idx.readLabels(labelsFile);
        if (labels.count() != images.count()) {
            throw new Idx.FormatException(labelsFile, 4, labels.gzipped(), "count mismatch: " + labels.count()
                    + " labels but " + imagesFile + " holds " + images.count() + " images");
        }
        int[] y = new int[labels.count()];
        for (int i = 0; i < y.length; i++) {
            y[i] = labels.labels()[i] & 0xff;
            if (y[i] >= CLASSES) {
                throw new Idx.FormatException(labelsFile, 8L + i, labels.gzipped(), "label " + y[i] + " of sample " + i
                        + " is outside 0.." + (CLASSES - 1));
            }
        }
        return InMemoryDataset.labelled(pixels(images.pixels()), SAMPLE, y);
    }

    /** {@code (p / 255 - MEAN) / STD} for every pixel. */
    static float[] pixels(byte[] raw) {
        float[] lut = new float[256];
        for (int v = 0; v < 256; v++) {
            lut[v] = (float) ((v / 255.0 - MEAN) / STD);
        }
        float[] x = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            x[i] = lut[raw[i] & 0xff];
        }
        return x;
    }
}
