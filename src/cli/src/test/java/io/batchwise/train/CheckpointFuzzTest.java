package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backends;
import io.batchwise.cli.Allocation;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Dense;
import io.batchwise.layer.ReLU;
import io.batchwise.loss.SoftmaxCrossEntropy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Checkpoint#read} on corrupted copies of a small trainer's checkpoint (weights, BatchNorm state, Adam's two
 * moments, an adaptive batch, the noise scale's averages): bit flips, header fields overwritten, truncation, bytes
 * appended; in a third of the trials the CRC is then recomputed, so that the parser behind it is fuzzed too. Each
 * trial either loads exactly what the file says (the trainer then encodes to the very same bytes) or is refused with
 * an IOException whose one-line message names the file and an offset, and leaves the trainer's whole state as it was
 * (compared through its encoding). Without the CRC fix-up no changed file may load. Seeded: a failure names the
 * seed and the trial.
 *
 * <p>In the cli module for its reference backend; in this package for {@link Checkpoint#encode}, which compares the
 * trainer's whole state without writing a file (a save forces the disk, 10 ms a trial).
 */
class CheckpointFuzzTest {
    private static final long SEED = 20_261_205L;
    private static final int TRIALS = 6_000;
    private static final Pattern OFFSET = Pattern.compile("offset \\d+");

    @TempDir
    Path dir;

    @Test
    void corruptCheckpointsLoadExactlyOrAreRefusedWhole() throws IOException {
        Graph g = Graph.builder().input("x", Shape.of(6)).then("fc1", new Dense(5)).then("bn", new BatchNorm())
                .then("relu", new ReLU()).then("fc2", new Dense(3)).build();
        Random data = new Random(3);
        float[] x = new float[48 * 6];
        int[] y = new int[48];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) data.nextGaussian();
        }
        Arrays.setAll(y, i -> data.nextInt(3));
        try (Trainer t = Trainer.builder(g, Backends.get("reference")).loss(new SoftmaxCrossEntropy())
                .optimizer(Optimizer.Adam.of(1e-2)).batch(BatchSize.mini(8)).microBatch(4).seed(11)
                .adaptiveBatch(AdaptiveBatch.upTo(32)).build()) {
            t.fit(InMemoryDataset.labelled(x, Shape.of(6), y), 2, 9); // mid-epoch, the noise scale measured
            byte[] original = Checkpoint.encode(t);
            Path originalFile = Files.write(dir.resolve("original.ckpt"), original);
            List<int[]> fields = fields(original);
            Random rnd = new Random(SEED);
            int loaded = 0;
            int fixed = 0;
            for (int trial = 0; trial < TRIALS; trial++) {
                Mutated mutated = mutate(rnd, original.clone(), fields);
                byte[] b = mutated.bytes();
                String what = mutated.what();
                boolean fix = rnd.nextInt(3) == 0 && b.length >= 8;
                if (fix) {
                    CRC32 crc = new CRC32();
                    crc.update(b, 0, b.length - 8);
                    ByteBuffer.wrap(b).putLong(b.length - 8, crc.getValue());
                    what += ", CRC fixed";
                    fixed++;
                }
                String where = "seed " + SEED + " trial " + trial + " (" + what + ")";
                // A new file per trial: ext4 flushes a file truncated and rewritten when it is closed (auto_da_alloc).
                Path file = Files.write(dir.resolve("trial" + trial + ".ckpt"), b);
                long allocated = Allocation.bytes();
                try {
                    Checkpoint.read(file, t);
                } catch (IOException e) {
                    Allocation.assertSmall(allocated, where);
                    String m = e.getMessage();
                    assertTrue(m != null && m.contains(file.toString()) && OFFSET.matcher(m).find(), where + ": " + m);
                    assertTrue(m.indexOf('\n') < 0 && m.indexOf('\r') < 0, where + ": not one line: " + m);
                    assertArrayEquals(original, Checkpoint.encode(t), where + ": refused but half-loaded: " + m);
                    continue;
                } catch (Throwable e) {
                    throw new AssertionError(where + ": " + e, e);
                }
                Allocation.assertSmall(allocated, where);
                assertTrue(fix || Arrays.equals(b, original), where + ": the CRC missed a change");
                assertArrayEquals(b, Checkpoint.encode(t), where + ": loaded something else than the file says");
                Checkpoint.read(originalFile, t);
                loaded++;
            }
            // Both outcomes exercised, or the oracle would be untested.
            assertTrue(loaded > fixed / 10 && loaded < fixed, loaded + " loaded, " + fixed + " with the CRC fixed");
        }
    }

    private record Mutated(String what, byte[] bytes) {
    }

    /** One mutation of a kind chosen at random; {@code fields} guides the header overwrites and the cuts. */
    private static Mutated mutate(Random rnd, byte[] b, List<int[]> fields) {
        int[] f = fields.get(rnd.nextInt(fields.size()));
        switch (rnd.nextInt(7)) {
            case 0:
                return new Mutated("flip " + flip(rnd, b), b);
            case 1: {
                StringBuilder s = new StringBuilder("flips");
                for (int i = 2 + rnd.nextInt(7); i > 0; i--) {
                    s.append(' ').append(flip(rnd, b));
                }
                return new Mutated(s.toString(), b);
            }
            case 2: { // a field set to a value chosen to hit the edges
                long old = get(b, f[0], f[1]);
                long[] v = {0, 1, -1, old + 1, old - 1, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE,
                        1L << 31, 1L << 40, rnd.nextLong()};
                long value = v[rnd.nextInt(v.length)];
                for (int i = f[1] - 1, at = f[0]; i >= 0; i--, at++) {
                    b[at] = (byte) (value >>> (8 * i));
                }
                return new Mutated("field at " + f[0] + " (" + f[1] + " bytes) = " + get(b, f[0], f[1]), b);
            }
            case 3: {
                for (int i = f[0]; i < f[0] + f[1]; i++) {
                    b[i] = (byte) rnd.nextInt(256);
                }
                return new Mutated("field at " + f[0] + " (" + f[1] + " bytes) random", b);
            }
            case 4: { // cut at a field's edge (or next to it), at the end, or anywhere
                int[] at = {f[0], f[0] + 1, f[0] + f[1] - 1, f[0] + f[1], 0, b.length - 1, b.length - 8, rnd.nextInt(b.length)};
                int cut = Math.min(at[rnd.nextInt(at.length)], b.length - 1);
                return new Mutated("truncated at " + cut, Arrays.copyOf(b, cut));
            }
            case 5: {
                byte[] c = Arrays.copyOf(b, b.length + 1 + rnd.nextInt(16));
                if (rnd.nextBoolean()) {
                    for (int i = b.length; i < c.length; i++) {
                        c[i] = (byte) rnd.nextInt(256);
                    }
                }
                return new Mutated((c.length - b.length) + " bytes appended", c);
            }
            default: {
                int at = rnd.nextInt(b.length);
                b[at] = (byte) rnd.nextInt(256);
                return new Mutated("byte " + at + " = " + (b[at] & 0xff), b);
            }
        }
    }

    private static String flip(Random rnd, byte[] b) {
        int at = rnd.nextInt(b.length);
        int bit = rnd.nextInt(8);
        b[at] ^= (byte) (1 << bit);
        return at + ":" + bit;
    }

    /** The big-endian value of {@code width} bytes at {@code at}, sign-extended. */
    private static long get(byte[] b, int at, int width) {
        long v = b[at];
        for (int i = 1; i < width; i++) {
            v = (v << 8) | (b[at + i] & 0xff);
        }
        return v;
    }

    /** The {offset, width} of every field but the floats, by the layout {@link Checkpoint} documents. */
    private static List<int[]> fields(byte[] b) {
        List<int[]> f = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(b);
        int at = field(f, 0, 8); // magic
        at = field(f, at, 8); // fingerprint
        int utf = in.getShort(at) & 0xffff;
        at = field(f, at, 2) + utf; // optimizer name
        for (int i = 0; i < 5; i++) {
            at = field(f, at, 8); // seed, step, epoch, offset in the epoch, samples
        }
        at = field(f, field(f, at, 4), 4); // current and initial batch
        at = field(f, at, 8); // step of the last batch change
        boolean noise = b[at] != 0;
        at = field(f, at, 1);
        for (int i = 0; noise && i < 4; i++) {
            at = field(f, at, 8); // the noise scale's averages
        }
        for (int i = 0; i < 2; i++) { // values and state: count, floats
            at = field(f, at, 8) + 4 * (int) in.getLong(at);
        }
        int slots = in.getInt(at);
        at = field(f, at, 4);
        for (int i = 0; i < slots; i++) {
            at = field(f, at, 8) + 4 * (int) in.getLong(at);
        }
        field(f, at, 8); // CRC
        assertTrue(at + 8 == b.length && noise && slots == 2, "the layout walked to " + at + " of " + b.length);
        return f;
    }

    private static int field(List<int[]> f, int at, int width) {
        f.add(new int[] {at, width});
        return at + width;
    }
}
