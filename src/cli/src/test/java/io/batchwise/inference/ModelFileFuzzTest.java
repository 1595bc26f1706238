package io.batchwise.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Backend;
import io.batchwise.cli.Allocation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Model#load} on corrupted copies of a model file with every layer kind: bit flips, bytes overwritten,
 * truncation, bytes appended; in a third of the trials the CRC is then recomputed, so that the parser behind it (the
 * graph's fields, names, wiring, shapes, sizes) is fuzzed too. Each trial either loads exactly what the file says
 * (saving it again gives the same bytes) or is refused with a one-line IOException naming the file and an offset,
 * having allocated nothing on the backend (its live bytes unchanged) and little on the heap. Without the CRC fix-up no
 * changed file may load. Seeded: a failure names the seed and the trial. Plus foreign files: a checkpoint, random
 * bytes, an empty file, another version's header.
 */
class ModelFileFuzzTest {
    private static final long SEED = 20_261_205L;
    private static final int TRIALS = 600;
    private static final Pattern OFFSET = Pattern.compile("offset \\d+");

    @TempDir
    Path dir;

    @Test
    void corruptModelFilesLoadExactlyOrAreRefusedWhole() throws IOException {
        Backend ref = Fixtures.backends().get(0);
        Path originalFile = dir.resolve("original.bw");
        try (Model m = Fixtures.trained(ref)) {
            m.save(originalFile);
        }
        byte[] original = Files.readAllBytes(originalFile);
        Random rnd = new Random(SEED);
        int loaded = 0;
        int fixed = 0;
        int refused = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            byte[] b = original.clone();
            String what = mutate(rnd, b);
            b = what.startsWith("cut") ? Arrays.copyOf(b, Integer.parseInt(what.substring(4)))
                    : what.startsWith("append") ? Arrays.copyOf(b, b.length + Integer.parseInt(what.substring(7))) : b;
            boolean fix = rnd.nextInt(3) == 0 && b.length >= 8;
            if (fix) {
                CRC32 crc = new CRC32();
                crc.update(b, 0, b.length - 8);
                ByteBuffer.wrap(b).putLong(b.length - 8, crc.getValue());
                what += ", CRC fixed";
                fixed++;
            }
            String where = "seed " + SEED + " trial " + trial + " (" + what + ")";
            Path file = Files.write(dir.resolve("trial" + trial + ".bw"), b);
            long live = ref.memory().liveBytes();
            long heap = Allocation.bytes();
            Model m;
            try {
                m = Model.load(file, ref);
            } catch (IOException e) {
                Allocation.assertSmall(heap, where);
                assertEquals(live, ref.memory().liveBytes(), where + ": refused but half-loaded");
                String msg = e.getMessage();
                assertTrue(msg != null && msg.contains(file.toString()) && OFFSET.matcher(msg).find(), where + ": " + msg);
                assertTrue(msg.indexOf('\n') < 0 && msg.indexOf('\r') < 0, where + ": not one line: " + msg);
                refused++;
                continue;
            } catch (Throwable e) {
                throw new AssertionError(where + ": " + e, e);
            }
            try (m) {
                assertTrue(fix || Arrays.equals(b, original), where + ": the CRC missed a change");
                Path again = dir.resolve("again.bw");
                // What was loaded is what the file says: the graph and its numbers (through the decoder, whose floats
                // keep their bits; a backend may quiet a signalling NaN).
                ModelFile.Contents c = ModelFile.read(file);
                assertArrayEquals(b, ModelFile.encode(c.graph(), c.values(), c.state()), where);
                assertEquals(c.graph().toString(), m.graph().toString(), where);
                m.save(again);
                loaded++;
            }
        }
        // Every outcome exercised, or the oracle would be untested.
        assertTrue(loaded > 1 && loaded < fixed && refused > TRIALS / 2, loaded + " loaded, " + fixed + " with the CRC fixed, "
                + refused + " refused");
    }

    /** Mutates {@code b} in place, or names a cut ("cut N") or an append ("append N") for the caller. */
    private static String mutate(Random rnd, byte[] b) {
        switch (rnd.nextInt(6)) {
            case 0: {
                int i = rnd.nextInt(b.length);
                int bit = rnd.nextInt(8);
                b[i] ^= (byte) (1 << bit);
                return "flip byte " + i + " bit " + bit;
            }
            case 1: {
                StringBuilder s = new StringBuilder("flips");
                for (int k = 2 + rnd.nextInt(5); k > 0; k--) {
                    int i = rnd.nextInt(b.length);
                    b[i] ^= (byte) (1 << rnd.nextInt(8));
                    s.append(' ').append(i);
                }
                return s.toString();
            }
            case 2: {
                // The graph is in the first few hundred bytes: aim there, where the parser has the most to check.
                int i = 8 + rnd.nextInt(Math.min(600, b.length - 16));
                int v = rnd.nextInt(256);
                b[i] = (byte) v;
                return "byte " + i + " = " + v;
            }
            case 3: {
                int i = 8 + rnd.nextInt(Math.min(600, b.length - 16));
                int v = rnd.nextBoolean() ? rnd.nextInt() : rnd.nextInt(5) - 1;
                ByteBuffer.wrap(b).putInt(i, v);
                return "int at " + i + " = " + v;
            }
            case 4:
                return "cut " + rnd.nextInt(b.length);
            default:
                return "append " + (1 + rnd.nextInt(12));
        }
    }

    @Test
    void foreignFilesAreRefusedClearly() throws IOException {
        Backend ref = Fixtures.backends().get(0);
        long live = ref.memory().liveBytes();
        byte[] random = new byte[4096];
        new Random(1).nextBytes(random);
        check(ref, "random.bin", random, "is not a Batchwise model file (no BWMODEL1 header at offset 0)");
        check(ref, "empty.bw", new byte[0], "is truncated: 0 bytes, it ends at offset 0 inside the 8-byte header");
        check(ref, "short.bw", "BWMOD".getBytes(), "is truncated: 5 bytes, it ends at offset 5 inside the 8-byte header");
        check(ref, "v9.bw", "BWMODEL9 and more".getBytes(), "its header BWMODEL9 is a version this Batchwise cannot read");
        // A checkpoint of the same graph: refused, with the way to turn it into a model file.
        Path ckpt = dir.resolve("last.ckpt");
        try (var t = io.batchwise.train.Trainer.builder(Fixtures.everyLayer(), ref).loss(new io.batchwise.loss.SoftmaxCrossEntropy())
                .optimizer(io.batchwise.train.Optimizer.Adam.of(1e-3)).batch(io.batchwise.train.BatchSize.mini(4)).microBatch(4).build()) {
            t.save(ckpt);
        }
        check(ref, "last.ckpt", Files.readAllBytes(ckpt), "it is a Batchwise checkpoint: turn it into a model file with"
                + " 'batchwise export --checkpoint");
        assertEquals(live, ref.memory().liveBytes());
        assertThrows(java.nio.file.NoSuchFileException.class, () -> Model.load(dir.resolve("missing.bw"), ref));
    }

    /**
     * {@code Trainer.loadWeights} (what {@code export} reads): the weights and BatchNorm statistics of a checkpoint, bit
     * for bit; a checkpoint cut or with a flipped bit is refused with the file and an offset, the parameters untouched.
     */
    @Test
    void exportReadsACheckpointsWeightsOrRefusesItWhole() throws IOException {
        Backend ref = Fixtures.backends().get(0);
        Path ckpt = dir.resolve("last.ckpt");
        float[] values;
        float[] state;
        try (Model m = Fixtures.trained(ref);
             var t = io.batchwise.train.Trainer.builder(m.graph(), ref).loss(new io.batchwise.loss.SoftmaxCrossEntropy())
                     .optimizer(io.batchwise.train.Optimizer.Adam.of(1e-3)).batch(io.batchwise.train.BatchSize.mini(4))
                     .microBatch(4).build()) {
            t.parameters().copyFrom(m.parameters());
            t.save(ckpt);
            values = m.parameters().logicalValues();
            state = m.parameters().state().toArray();
        }
        byte[] original = Files.readAllBytes(ckpt);
        try (var p = ref.createParameters(Fixtures.everyLayer(), io.batchwise.DataType.FLOAT32)) {
            io.batchwise.train.Trainer.loadWeights(ckpt, p);
            assertArrayEquals(ModelRoundTripTest.bits(values), ModelRoundTripTest.bits(p.logicalValues()));
            assertArrayEquals(ModelRoundTripTest.bits(state), ModelRoundTripTest.bits(p.state().toArray()));
            Random rnd = new Random(SEED);
            for (int trial = 0; trial < 100; trial++) {
                byte[] b = original.clone();
                if (trial % 2 == 0) {
                    b = Arrays.copyOf(b, rnd.nextInt(b.length));
                } else {
                    b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
                Path file = Files.write(dir.resolve("cut" + trial + ".ckpt"), b);
                IOException e = assertThrows(IOException.class, () -> io.batchwise.train.Trainer.loadWeights(file, p),
                        "trial " + trial);
                assertTrue(e.getMessage().contains(file.toString()) && OFFSET.matcher(e.getMessage()).find(), e.getMessage());
                assertArrayEquals(ModelRoundTripTest.bits(values), ModelRoundTripTest.bits(p.logicalValues()), "trial " + trial);
            }
        }
    }

    private void check(Backend b, String name, byte[] bytes, String expected) throws IOException {
        Path file = Files.write(dir.resolve(name), bytes);
        IOException e = assertThrows(IOException.class, () -> Model.load(file, b), name);
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(expected)
                && OFFSET.matcher(e.getMessage()).find(), e.getMessage());
    }
}
