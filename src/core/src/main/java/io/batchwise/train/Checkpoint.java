package io.batchwise.train;

import io.batchwise.Node;
import io.batchwise.backend.Tensor;
import io.batchwise.backend.Parameters;
import io.batchwise.layer.ParamSpec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.BufferUnderflowException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;

/**
 * The checkpoint file: weights, BatchNorm state, optimizer state and the run's position (step,
 * epoch, samples done in the epoch, samples seen, seed), which together fix the data order, the
 * dropout seeds and the schedule; and what later steps depend on besides: the adaptive batch (current
 * and initial effective batch, step of the last change) and the noise scale's moving averages.
 * Layout (big-endian), version 2:
 * <pre>
 * "BWCKPT02" | graph fingerprint (8) | optimizer name (UTF) | seed, step, epoch, offsetInEpoch, samples (8 each)
 * | currentBatch, initialBatch (4 each; 0 = fixed batch), lastBatchChange (8)
 * | noise scale: present (1) [+ |G|^2 average, tr(Sigma) average, weight, measurements (8-byte doubles)]
 * | values: count (8) + floats | state: count + floats | slots (4) | per slot: count + floats | CRC32 of all before (8)
 * </pre>
 * Version 1 ("BWCKPT01": no adaptive or noise-scale fields, the position in batches of the effective
 * batch instead of samples) is still read; its run resumes with the noise scale measured afresh.
 * Written to a temporary file, forced to disk, renamed over the target, and the folder forced to disk too. Read
 * whole and checked (magic, checksum, then every field: fingerprint, optimizer, seed, ranges, sizes) before anything
 * is written into the trainer; a refusal's one-line message names the file and the byte offset.
 */
final class Checkpoint {
    private static final byte[] MAGIC = "BWCKPT02".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MAGIC_V1 = "BWCKPT01".getBytes(StandardCharsets.US_ASCII);
    /** More optimizer state tensors than any optimizer keeps: a count above it is corruption. */
    private static final int MAX_SLOTS = 16;

    private Checkpoint() {
    }

    static void write(Path file, Trainer t) throws IOException {
        byte[] bytes = encode(t);
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        if (dir != null) {
            syncDirectory(dir);
        }
    }

    /**
     * Forces the folder's entries to disk, so that a power cut right after the rename cannot undo it (POSIX makes a
     * rename durable only once its directory is synced).
     */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some platforms (Windows) cannot open a directory; there the file system orders the rename itself.
        }
    }

    /** The checkpoint's bytes: what {@link #write} puts in the file. */
    static byte[] encode(Trainer t) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(MAGIC);
        out.writeLong(fingerprint(t.parameters()));
        out.writeUTF(t.optimizer().name());
        out.writeLong(t.seed());
        RunPosition p = t.position();
        out.writeLong(p.step());
        out.writeLong(p.epoch());
        out.writeLong(p.offsetInEpoch());
        out.writeLong(p.samplesSeen());
        out.writeInt(p.currentBatch());
        out.writeInt(p.initialBatch());
        out.writeLong(p.lastBatchChange());
        NoiseScale noise = t.noiseScaleState();
        out.writeBoolean(noise != null);
        if (noise != null) {
            for (double v : noise.state()) {
                out.writeLong(Double.doubleToRawLongBits(v)); // raw, as the floats below: an exact image, NaNs included
            }
        }
        // Parameters and optimizer state in logical order, whatever order and layout the backend stores them in.
        writeFloats(out, t.parameters().logicalValues());
        writeFloats(out, t.parameters().logicalState());
        Tensor[] slots = t.optimizerState();
        out.writeInt(slots.length);
        for (Tensor s : slots) {
            writeFloats(out, t.parameters().toLogical(s.toArray())); // one value per parameter value
        }
        CRC32 crc = new CRC32();
        crc.update(bytes.toByteArray());
        out.writeLong(crc.getValue());
        out.flush();
        return bytes.toByteArray();
    }

    /**
     * Loads {@code file} into {@code t}, or refuses it with an IOException whose one-line message names the file and
     * the byte offset of the problem, having changed nothing: the whole file is checked (checksum, then every field)
     * before anything is written into the trainer.
     */
    static void read(Path file, Trainer t) throws IOException {
        byte[] all = Files.readAllBytes(file);
        boolean v1 = startsWith(all, MAGIC_V1);
        int crcAt = checkFrame(file, all);
        // The checksum matches: what follows refuses a file written wrongly or for another run, field by field.
        ByteBuffer buf = ByteBuffer.wrap(all, 0, crcAt);
        buf.position(MAGIC.length);
        try {
            int at = buf.position();
            long fp = buf.getLong();
            Parameters p = t.parameters();
            if (fp != fingerprint(p)) {
                throw new IOException(file + " was written for another graph (its parameter names or shapes differ:"
                        + " fingerprint at offset " + at + ")");
            }
            at = buf.position();
            String opt = readUtf(buf);
            if (!opt.equals(t.optimizer().name())) {
                throw new IOException(file + " holds " + (printable(opt) ? opt : "unreadable") + " optimizer state (name at"
                        + " offset " + at + "), this trainer uses " + t.optimizer().name());
            }
            at = buf.position();
            long seed = buf.getLong();
            if (seed != t.seed()) {
                throw new IOException(file + " was written by a run with seed " + seed + " (at offset " + at
                        + "), this trainer has seed " + t.seed());
            }
            long step = bounded(buf, 8, Long.MAX_VALUE, file, "step");
            int epoch = (int) bounded(buf, 8, Integer.MAX_VALUE, file, "epoch");
            int offsetOrBatch = (int) bounded(buf, 8, Integer.MAX_VALUE, file, v1 ? "batch in the epoch" : "offset in the epoch");
            long samples = bounded(buf, 8, Long.MAX_VALUE, file, "samples seen");
            RunPosition position = null;
            double[] noise = null;
            if (!v1) {
                at = buf.position();
                int currentBatch = (int) bounded(buf, 4, Integer.MAX_VALUE, file, "current batch");
                int initialBatch = (int) bounded(buf, 4, Integer.MAX_VALUE, file, "initial batch");
                long lastChange = bounded(buf, 8, Long.MAX_VALUE, file, "step of the last batch change");
                position = new RunPosition(step, epoch, offsetOrBatch, samples, currentBatch, initialBatch, lastChange);
                boolean adaptive = t.adaptiveBatch().isPresent();
                if (currentBatch != 0 && !adaptive) {
                    throw new IOException(file + " was written by an adaptive-batch run (effective batch " + currentBatch
                            + " at offset " + at + "); resume it with the adaptive batch switched on");
                }
                at = buf.position();
                byte present = buf.get();
                if (present != 0 && present != 1) {
                    throw new IOException(file + " is corrupt: noise-scale flag " + present + " at offset " + at
                            + " is neither 0 nor 1");
                }
                if (present == 1) {
                    noise = new double[4];
                    for (int i = 0; i < 4; i++) {
                        noise[i] = buf.getDouble();
                    }
                    // The measurement count is a long in the trainer: a whole number (not -0.0), as it was written.
                    long count = (long) noise[3];
                    if (count < 0 || Double.doubleToRawLongBits(count) != Double.doubleToRawLongBits(noise[3])) {
                        throw new IOException(file + " is corrupt: noise-scale measurement count " + noise[3] + " at offset "
                                + (buf.position() - 8) + " is not a whole number >= 0");
                    }
                }
            }
            float[] values = readFloats(buf, p.logicalValuesLength(), file, "parameter");
            float[] state = readFloats(buf, p.logicalStateLength(), file, "state");
            Tensor[] slots = t.optimizerState();
            at = buf.position();
            int n = buf.getInt();
            if (n != slots.length) {
                throw new IOException(file + " holds " + n + " optimizer state tensors at offset " + at + ", expected "
                        + slots.length);
            }
            float[][] slotValues = new float[n][];
            for (int i = 0; i < n; i++) {
                slotValues[i] = readFloats(buf, p.logicalValuesLength(), file, "optimizer state");
            }
            if (buf.hasRemaining()) {
                throw new IOException(file + " has " + buf.remaining() + " unexpected bytes at offset " + buf.position()
                        + ", before its checksum");
            }
            // Everything checked: only now touch the trainer.
            p.writeLogicalValues(values);
            p.writeLogicalState(state);
            for (int i = 0; i < n; i++) {
                slots[i].write(p.toStored(slotValues[i]));
            }
            if (v1) {
                t.legacyPosition(step, epoch, offsetOrBatch, samples);
            } else {
                t.position(position);
            }
            NoiseScale ns = t.noiseScaleState();
            if (ns != null) {
                if (noise != null) {
                    ns.state(noise);
                } else {
                    ns.reset();
                }
            }
        } catch (BufferUnderflowException e) {
            throw new IOException(file + " is corrupt: a field at offset " + buf.position() + " runs past the data's end"
                    + " at offset " + crcAt);
        }
    }

    /**
     * Checks the header (either version) and the checksum of a whole file; returns the checksum's offset, where the
     * fields end. Shared by {@link #read} and {@link #readWeights}.
     */
    private static int checkFrame(Path file, byte[] all) throws IOException {
        if (!startsWith(all, MAGIC_V1) && !startsWith(all, MAGIC)) {
            if (all.length < MAGIC.length && (prefixOf(all, MAGIC) || prefixOf(all, MAGIC_V1))) {
                throw new IOException(file + " is truncated: " + all.length + " bytes, it ends at offset " + all.length
                        + " inside the " + MAGIC.length + "-byte header");
            }
            String head = new String(all, 0, Math.min(all.length, MAGIC.length), StandardCharsets.US_ASCII);
            throw new IOException(file + " is not a Batchwise checkpoint (no BWCKPT02 or BWCKPT01 header at offset 0)"
                    + (head.length() == MAGIC.length && head.startsWith("BWCKPT") && printable(head)
                    ? "; its header " + head + " is a version this Batchwise cannot read" : ""));
        }
        if (all.length < MAGIC.length + 8) {
            throw new IOException(file + " is truncated: " + all.length + " bytes, it ends at offset " + all.length
                    + " before its checksum");
        }
        int crcAt = all.length - 8;
        CRC32 crc = new CRC32();
        crc.update(all, 0, crcAt);
        if (ByteBuffer.wrap(all).getLong(crcAt) != crc.getValue()) {
            throw new IOException(file + " is truncated or corrupt: the checksum at offset " + crcAt
                    + " (its last 8 bytes) does not match the " + crcAt + " bytes before it");
        }
        return crcAt;
    }

    /**
     * Reads only the weights and BatchNorm state of checkpoint {@code file} into {@code p}, for a graph of the same
     * fingerprint; the run's position is skipped, the optimizer state checked for size and skipped. Refuses a file as
     * {@link #read} does (one line naming the file and an offset), and then leaves {@code p} as it was.
     */
    static void readWeights(Path file, Parameters p) throws IOException {
        byte[] all = Files.readAllBytes(file);
        boolean v1 = startsWith(all, MAGIC_V1);
        int crcAt = checkFrame(file, all);
        ByteBuffer buf = ByteBuffer.wrap(all, 0, crcAt);
        buf.position(MAGIC.length);
        try {
            int at = buf.position();
            if (buf.getLong() != fingerprint(p)) {
                throw new IOException(file + " was written for another graph (its parameter names or shapes differ:"
                        + " fingerprint at offset " + at + ")");
            }
            readUtf(buf); // the optimizer's name
            skip(buf, 8 + 4 * 8 + (v1 ? 0 : 4 + 4 + 8)); // seed, position, adaptive batch
            if (!v1) {
                at = buf.position();
                byte present = buf.get();
                if (present != 0 && present != 1) {
                    throw new IOException(file + " is corrupt: noise-scale flag " + present + " at offset " + at
                            + " is neither 0 nor 1");
                }
                skip(buf, present * 4 * 8);
            }
            float[] values = readFloats(buf, p.logicalValuesLength(), file, "parameter");
            float[] state = readFloats(buf, p.logicalStateLength(), file, "state");
            at = buf.position();
            int n = buf.getInt();
            if (n < 0 || n > MAX_SLOTS) {
                throw new IOException(file + " is corrupt: " + n + " optimizer state tensors at offset " + at
                        + " (at most " + MAX_SLOTS + ")");
            }
            for (int i = 0; i < n; i++) {
                readFloats(buf, p.logicalValuesLength(), file, "optimizer state");
            }
            if (buf.hasRemaining()) {
                throw new IOException(file + " has " + buf.remaining() + " unexpected bytes at offset " + buf.position()
                        + ", before its checksum");
            }
            p.writeLogicalValues(values);
            p.writeLogicalState(state);
        } catch (BufferUnderflowException e) {
            throw new IOException(file + " is corrupt: a field at offset " + buf.position() + " runs past the data's end"
                    + " at offset " + crcAt);
        }
    }

    /** Moves past {@code n} bytes, or throws BufferUnderflowException as a read past the end would. */
    private static void skip(ByteBuffer buf, int n) {
        if (n > buf.remaining()) {
            throw new BufferUnderflowException();
        }
        buf.position(buf.position() + n);
    }

    private static boolean startsWith(byte[] all, byte[] magic) {
        return all.length >= magic.length && java.util.Arrays.equals(all, 0, magic.length, magic, 0, magic.length);
    }

    private static boolean prefixOf(byte[] all, byte[] magic) {
        return java.util.Arrays.equals(all, 0, all.length, magic, 0, all.length);
    }

    /** Printable ASCII only: a corrupt name must not break the one-line message. */
    private static boolean printable(String s) {
        return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
    }

    /** The next field, {@code width} (4 or 8) bytes, which must lie in {@code [0, max]}. */
    private static long bounded(ByteBuffer buf, int width, long max, Path file, String what) throws IOException {
        int at = buf.position();
        long v = width == 4 ? buf.getInt() : buf.getLong();
        if (v < 0 || v > max) {
            throw new IOException(file + " is corrupt: " + what + " " + v + " at offset " + at + " is outside 0.." + max);
        }
        return v;
    }

    /** A hash of every parameter's node, name and shape. */
    static long fingerprint(Parameters p) {
        long h = 1125899906842597L;
        for (Node n : p.graph().nodes()) {
            for (ParamSpec s : n.params()) {
                String k = n.name() + "." + s.name() + s.shape();
                for (int i = 0; i < k.length(); i++) {
                    h = 31 * h + k.charAt(i);
                }
            }
        }
        return h;
    }

    private static void writeFloats(DataOutputStream out, float[] a) throws IOException {
        out.writeLong(a.length);
        ByteBuffer b = ByteBuffer.allocate(a.length * 4);
        b.asFloatBuffer().put(a);
        out.write(b.array());
    }

    private static float[] readFloats(ByteBuffer buf, long expected, Path file, String what) throws IOException {
        int at = buf.position();
        long n = buf.getLong();
        if (n != expected) {
            throw new IOException(file + " holds " + n + " " + what + " values at offset " + at + ", expected " + expected);
        }
        float[] a = new float[(int) n];
        buf.asFloatBuffer().get(a);
        buf.position(buf.position() + 4 * (int) n);
        return a;
    }

    private static String readUtf(ByteBuffer buf) {
        int len = buf.getShort() & 0xFFFF;
        byte[] b = new byte[len];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
