package io.batchwise.peers;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from its IDX files ({@code train-images-idx3-ubyte} and {@code train-labels-idx1-ubyte},
 * {@code t10k-...} for the test set, each plain or {@code .gz}): images as floats, row-major
 * {@code (count, 28 * 28)}, labels in [0, 10). Pixels are byte / 255 ({@link Pixels#UNIT}) or, as Batchwise's
 * command-line trainer feeds them, {@code (byte / 255 - 0.2860) / 0.3530} ({@link Pixels#STANDARDIZED}).
 */
public final class FashionMnist {
    public static final int SIDE = 28;
    public static final int PIXELS = SIDE * SIDE;
    public static final int CLASSES = 10;

    /** {@code (count, 784)}, row-major. */
    public final float[] images;
    public final int[] labels;
    public final int count;

    private FashionMnist(float[] images, int[] labels) {
        this.images = images;
        this.labels = labels;
        this.count = labels.length;
    }

    /** How pixel bytes become floats. */
    public enum Pixels {
        /** {@code p / 255}. */
        UNIT,
        /**
         * {@code (p / 255 - 0.2860) / 0.3530}, computed in double and rounded to float: the training set's mean and
         * standard deviation, the constants (and arithmetic) of Batchwise's {@code io.batchwise.cli.FashionMnist}.
         */
        STANDARDIZED;

        float apply(int p) {
            return this == UNIT ? p / 255f : (float) ((p / 255.0 - 0.2860) / 0.3530);
        }
    }

    /** The training set in {@code dir}, pixels / 255. */
    public static FashionMnist train(Path dir) {
        return load(dir, "train", Pixels.UNIT);
    }

    /** The training set ({@code set = "train"}) or the test set ({@code "t10k"}) in {@code dir}. */
    public static FashionMnist load(Path dir, String set, Pixels scale) {
        Path imageFile = find(dir, set + "-images-idx3-ubyte");
        Path labelFile = find(dir, set + "-labels-idx1-ubyte");
        byte[] pixels = read(imageFile, 0x803, new int[] {SIDE, SIDE});
        byte[] classes = read(labelFile, 0x801, new int[0]);
        int n = classes.length;
        if (pixels.length != n * PIXELS) {
            throw new IllegalArgumentException(imageFile + " holds " + pixels.length / PIXELS + " images but " + labelFile + " " + n + " labels");
        }
        float[] lut = new float[256];
        for (int p = 0; p < lut.length; p++) {
            lut[p] = scale.apply(p);
        }
        float[] x = new float[pixels.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = lut[pixels[i] & 0xff];
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = classes[i] & 0xff;
            if (y[i] >= CLASSES) {
                throw new IllegalArgumentException(labelFile + ": label " + y[i] + " at item " + i + " (offset " + (8 + i) + ") is not in [0, 10)");
            }
        }
        return new FashionMnist(x, y);
    }

    /** The first {@code n} samples (all when {@code n} is 0 or at least {@link #count}). */
    public FashionMnist head(int n) {
        return n <= 0 || n >= count ? this : new FashionMnist(images(0, n), labels(0, n));
    }

    /** Images {@code [first, first + n)} as a copy, {@code (n, 784)} row-major. */
    public float[] images(int first, int n) {
        float[] out = new float[n * PIXELS];
        System.arraycopy(images, first * PIXELS, out, 0, out.length);
        return out;
    }

    /** Labels {@code [first, first + n)} as a copy. */
    public int[] labels(int first, int n) {
        int[] out = new int[n];
        System.arraycopy(labels, first, out, 0, n);
        return out;
    }

    private static Path find(Path dir, String name) {
        for (String candidate : new String[] {name, name + ".gz"}) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IllegalArgumentException("Fashion-MNIST: neither " + name + " nor " + name + ".gz in " + dir.toAbsolutePath());
    }

    /** The payload of an IDX file with the given magic number and item shape (after the item count). */
    private static byte[] read(Path file, int magic, int[] itemDims) {
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(
                     file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw, 1 << 16))) {
            int m = in.readInt();
            if (m != magic) {
                throw new IllegalArgumentException(String.format("%s: magic number 0x%08x at offset 0, expected 0x%08x", file, m, magic));
            }
            long size = in.readInt();
            for (int i = 0; i < itemDims.length; i++) {
                int d = in.readInt();
                if (d != itemDims[i]) {
                    throw new IllegalArgumentException(file + ": dimension " + (i + 1) + " is " + d + " at offset " + (8 + 4 * i) + ", expected " + itemDims[i]);
                }
                size *= d;
            }
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(file + ": " + size + " bytes of data is too large");
            }
            byte[] data = new byte[(int) size];
            try {
                in.readFully(data);
            } catch (EOFException e) {
                throw new IllegalArgumentException(file + ": truncated, expected " + size + " bytes of data after the header", e);
            }
            return data;
        } catch (IOException e) {
            throw new UncheckedIOException("Fashion-MNIST: cannot read " + file, e);
        }
    }
}
