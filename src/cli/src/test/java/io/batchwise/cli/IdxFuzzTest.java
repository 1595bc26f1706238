package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.loss.Targets;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fashion-MNIST's reader ({@link FashionMnist#dataset}, the command line's path) on IDX files corrupted at random:
 * bit flips, header fields overwritten, truncation, bytes appended, the result gzipped or the gzip bytes corrupted.
 * A file that is still valid (judged here, independently of the reader) must read as exactly what it holds; any
 * other must be refused with an IOException whose one-line message names the file and a byte offset. Anything
 * else (an unchecked exception, an error) fails the trial, and so does a read that allocates more than 1 MiB (a
 * corrupt count must not size an array). Seeded: a failure names the seed and the trial.
 */
class IdxFuzzTest {
    private static final long SEED = 20_261_204L;
    private static final int TRIALS = 6_000;
    private static final Pattern OFFSET = Pattern.compile("offset \\d+");
    private static final int COUNT = 3;

    @TempDir
    Path dir;

    /**
     * A corrupted file. {@code gzipLayer}: its gzip bytes were corrupted (not the IDX bytes inside), so it holds the
     * original data or nothing; {@code mustRefuse}: a corruption no reader may accept (a gzip trailer, truncation,
     * bytes appended).
     */
    private record Case(String what, byte[] bytes, boolean gzipLayer, boolean mustRefuse) {
        static Case idx(String what, byte[] bytes) {
            return new Case(what, bytes, false, false);
        }
    }

    @Test
    void corruptFilesAreReadExactlyOrRefusedWithFileAndOffset() throws IOException {
        byte[] images = IdxTest.images(COUNT);
        byte[] labels = IdxTest.labels(COUNT);
        Path goodImages = Files.write(dir.resolve("images"), images);
        Path goodLabels = Files.write(dir.resolve("labels"), labels);
        Random rnd = new Random(SEED);
        int valid = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            boolean imagesTarget = rnd.nextBoolean();
            byte[] original = imagesTarget ? images : labels;
            Case c = corrupt(rnd, original, imagesTarget ? 3 : 1);
            // A new file per trial: ext4 flushes a file truncated and rewritten when it is closed (auto_da_alloc).
            Path file = Files.write(dir.resolve("trial" + trial + (c.gzipLayer() || isGzip(c.bytes()) ? ".gz" : "")), c.bytes());
            Path imagesFile = imagesTarget ? file : goodImages;
            Path labelsFile = imagesTarget ? goodLabels : file;
            String where = "seed " + SEED + " trial " + trial + " (" + (imagesTarget ? "images" : "labels") + ": " + c.what() + ")";
            // What a correct reader makes of it: the oracle's verdict on the IDX bytes; for corrupted gzip bytes, the
            // original data (when the gzip checks pass, as for a flip in its time stamp) or a refusal.
            Expected expected;
            if (c.gzipLayer()) {
                expected = c.mustRefuse() ? Expected.INVALID : Expected.of(images, labels);
            } else {
                byte[] plain = isGzip(c.bytes()) ? gunzip(c.bytes()) : c.bytes();
                expected = imagesTarget ? Expected.of(plain, labels) : Expected.of(images, plain);
            }
            InMemoryDataset d;
            long allocated = Allocation.bytes();
            try {
                d = FashionMnist.dataset(imagesFile, labelsFile);
            } catch (IOException e) {
                Allocation.assertSmall(allocated, where);
                String m = e.getMessage();
                assertTrue(m != null && m.contains(file.toString()) && OFFSET.matcher(m).find(), where + ": " + m);
                assertTrue(m.indexOf('\n') < 0 && m.indexOf('\r') < 0, where + ": not one line: " + m);
                assertTrue(!expected.valid() || c.gzipLayer(), where + ": a valid file was refused: " + m);
                continue;
            } catch (Throwable e) {
                throw new AssertionError(where + ": " + e, e);
            }
            Allocation.assertSmall(allocated, where);
            assertTrue(expected.valid(), where + ": read although invalid");
            expected.assertHeldBy(d, where);
            valid++;
        }
        // The mix must exercise both outcomes, or the oracle would be untested.
        assertTrue(valid > TRIALS / 20 && valid < TRIALS / 2, valid + " of " + TRIALS + " still valid");
    }

    // --- mutations ---

    private static Case corrupt(Random rnd, byte[] original, int rank) throws IOException {
        int how = rnd.nextInt(10);
        if (how < 7) {
            Case c = mutate(rnd, original.clone(), rank);
            return how < 5 ? c : Case.idx(c.what() + ", gzipped", IdxTest.gzip(c.bytes()));
        }
        // Corrupt the gzip file itself: the reader must check its header, CRC, length and end.
        byte[] gz = IdxTest.gzip(original);
        int kind = rnd.nextInt(5);
        return switch (kind) {
            case 0 -> new Case("gzip flip " + flip(rnd, gz, 0, gz.length), gz, true, false);
            case 1 -> new Case("gzip header flip " + flip(rnd, gz, 0, 10), gz, true, false);
            case 2 -> new Case("gzip trailer flip " + flip(rnd, gz, gz.length - 8, gz.length), gz, true, true);
            case 3 -> {
                int at = rnd.nextInt(gz.length);
                yield new Case("gzip truncated at " + at, Arrays.copyOf(gz, at), true, true);
            }
            default -> {
                byte[] tail = tail(rnd);
                yield new Case("gzip + " + tail.length + " bytes appended", concat(gz, tail), true, true);
            }
        };
    }

    /** One mutation of an IDX file's bytes, of a kind chosen at random. */
    private static Case mutate(Random rnd, byte[] b, int rank) {
        int header = 4 + 4 * rank;
        switch (rnd.nextInt(7)) {
            case 0:
                return Case.idx("flip " + flip(rnd, b, 0, b.length), b);
            case 1: {
                StringBuilder s = new StringBuilder("flips");
                for (int i = 2 + rnd.nextInt(7); i > 0; i--) {
                    s.append(' ').append(flip(rnd, b, 0, b.length));
                }
                return Case.idx(s.toString(), b);
            }
            case 2: { // one header field: the magic or a dimension, set to a value chosen to hit the edges
                int field = rnd.nextInt(rank + 1);
                int v = interesting(rnd, ByteBuffer.wrap(b).getInt(4 * field));
                ByteBuffer.wrap(b).putInt(4 * field, v);
                return Case.idx("header field " + field + " = " + v, b);
            }
            case 3: { // random bytes over part of the header
                int from = rnd.nextInt(header);
                int to = from + 1 + rnd.nextInt(header - from);
                for (int i = from; i < to; i++) {
                    b[i] = (byte) rnd.nextInt(256);
                }
                return Case.idx("header bytes " + from + ".." + to + " random", b);
            }
            case 4: { // truncation, often at the edges of the header and the last byte
                int[] edges = {0, 1, 3, 4, 5, header - 1, header, header + 1, b.length - 1};
                int at = rnd.nextBoolean() ? edges[rnd.nextInt(edges.length)] : rnd.nextInt(b.length);
                return Case.idx("truncated at " + at, Arrays.copyOf(b, at));
            }
            case 5: {
                byte[] tail = tail(rnd);
                return Case.idx(tail.length + " bytes appended", concat(b, tail));
            }
            default: {
                int at = rnd.nextInt(b.length);
                b[at] = (byte) rnd.nextInt(256);
                return Case.idx("byte " + at + " = " + (b[at] & 0xff), b);
            }
        }
    }

    /** Flips one bit in {@code [from, to)}; says which. */
    private static String flip(Random rnd, byte[] b, int from, int to) {
        int at = from + rnd.nextInt(to - from);
        int bit = rnd.nextInt(8);
        b[at] ^= (byte) (1 << bit);
        return at + ":" + bit;
    }

    private static int interesting(Random rnd, int old) {
        int[] v = {0, 1, -1, old + 1, old - 1, Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 20, 1 << 28, 60_000, 28, 784,
                Idx.IMAGES_MAGIC, Idx.LABELS_MAGIC, rnd.nextInt()};
        return v[rnd.nextInt(v.length)];
    }

    private static byte[] tail(Random rnd) {
        byte[] t = new byte[1 + rnd.nextInt(16)];
        if (rnd.nextBoolean()) {
            rnd.nextBytes(t);
        }
        return t;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static byte[] gunzip(byte[] gz) throws IOException {
        try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    private static boolean isGzip(byte[] b) {
        return b.length >= 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b;
    }

    // --- the oracle: what a valid pair of files holds, judged from the format alone ---

    /** The samples a valid images file and labels file hold; {@code valid()} false when either is not valid. */
    private record Expected(byte[] pixels, byte[] labels) {
        static final Expected INVALID = new Expected(null, null);

        static Expected of(byte[] images, byte[] labels) {
            int[] di = dims(images, Idx.IMAGES_MAGIC, 3);
            int[] dl = dims(labels, Idx.LABELS_MAGIC, 1);
            boolean ok = di != null && dl != null && di[0] == dl[0] && di[0] > 0 && di[1] == 28 && di[2] == 28;
            if (!ok) {
                return INVALID;
            }
            byte[] y = Arrays.copyOfRange(labels, 8, labels.length);
            for (byte v : y) {
                if ((v & 0xff) >= FashionMnist.CLASSES) {
                    return INVALID;
                }
            }
            return new Expected(Arrays.copyOfRange(images, 16, images.length), y);
        }

        /** The dimensions when {@code b} is a valid IDX file with this magic and rank (length exactly as they say). */
        private static int[] dims(byte[] b, int magic, int rank) {
            if (b.length < 4 + 4 * rank || ByteBuffer.wrap(b).getInt(0) != magic) {
                return null;
            }
            int[] d = new int[rank];
            BigInteger size = BigInteger.valueOf(4 + 4 * rank);
            BigInteger per = BigInteger.ONE;
            for (int i = 0; i < rank; i++) {
                d[i] = ByteBuffer.wrap(b).getInt(4 + 4 * i);
                if (d[i] < 0 || (i > 0 && d[i] == 0)) {
                    return null;
                }
                per = per.multiply(BigInteger.valueOf(d[i]));
            }
            return size.add(per).equals(BigInteger.valueOf(b.length)) ? d : null;
        }

        boolean valid() {
            return pixels != null;
        }

        void assertHeldBy(InMemoryDataset d, String where) {
            int n = labels.length;
            assertEquals(n, d.size(), where);
            int[] all = new int[n];
            Arrays.setAll(all, i -> i);
            float[] x = new float[pixels.length];
            d.copyInputs(all, 0, n, x);
            assertArrayEquals(FashionMnist.pixels(pixels), x, where);
            Targets.Labels y = (Targets.Labels) d.targets(all, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(labels[i], y.label(i), where + ": label " + i);
            }
        }
    }
}
