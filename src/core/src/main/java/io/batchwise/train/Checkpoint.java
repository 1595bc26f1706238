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
 * Written to a temporary file, forced to disk, then renamed over the target. Read whole and checked
 * (magic, checksum, fingerprint, sizes) before anything is written into the trainer.
 */
final class Checkpoint {
    private static final byte[] MAGIC = "BWCKPT02".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MAGIC_V1 = "BWCKPT01".getBytes(StandardCharsets.US_ASCII);

    private Checkpoint() {
    }

    static void write(Path file, Trainer t) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(MAGIC);
        out.writeLong(fingerprint(t.parameters()));
        out.writeUTF(t.optimizer().name());
        out.writeLong(t.seed());
        long[] p = t.position();
        for (int i = 0; i < 4; i++) {
            out.writeLong(p[i]);
        }
        out.writeInt((int) p[4]);
        out.writeInt((int) p[5]);
        out.writeLong(p[6]);
        NoiseScale noise = t.noiseScaleState();
        out.writeBoolean(noise != null);
        if (noise != null) {
            for (double v : noise.state()) {
                out.writeDouble(v);
            }
        }
        // Parameters and optimizer state in logical order, whatever order the backend stores them in.
        writeFloats(out, t.parameters().logicalValues());
        writeFloats(out, t.parameters().state().toArray());
        Tensor[] slots = t.optimizerState();
        out.writeInt(slots.length);
        for (Tensor s : slots) {
            writeFloats(out, t.parameters().toLogical(s.toArray())); // one value per parameter value
        }
        CRC32 crc = new CRC32();
        crc.update(bytes.toByteArray());
        out.writeLong(crc.getValue());
        out.flush();

        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes.toByteArray());
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static void read(Path file, Trainer t) throws IOException {
        byte[] all = Files.readAllBytes(file);
        boolean v1 = all.length >= MAGIC.length && java.util.Arrays.equals(all, 0, MAGIC.length, MAGIC_V1, 0, MAGIC.length);
        if (all.length < MAGIC.length + 8
                || !(v1 || java.util.Arrays.equals(all, 0, MAGIC.length, MAGIC, 0, MAGIC.length))) {
            String head = new String(all, 0, Math.min(all.length, MAGIC.length), StandardCharsets.US_ASCII);
            throw new IOException(file + " is not a Batchwise checkpoint (no BWCKPT02 or BWCKPT01 header at offset 0)"
                    + (head.length() == MAGIC.length && head.startsWith("BWCKPT")
                    ? "; its header " + head + " is a version this Batchwise cannot read" : ""));
        }
        ByteBuffer buf = ByteBuffer.wrap(all);
        CRC32 crc = new CRC32();
        crc.update(all, 0, all.length - 8);
        long stored = buf.getLong(all.length - 8);
        if (stored != crc.getValue()) {
            throw new IOException(file + " is truncated or corrupt: checksum mismatch over its " + all.length + " bytes");
        }
        buf.limit(all.length - 8);
        buf.position(MAGIC.length);
        try {
            long fp = buf.getLong();
            Parameters p = t.parameters();
            if (fp != fingerprint(p)) {
                throw new IOException(file + " was written for another graph (its parameter names or shapes differ)");
            }
            String opt = readUtf(buf);
            if (!opt.equals(t.optimizer().name())) {
                throw new IOException(file + " holds " + opt + " optimizer state, this trainer uses " + t.optimizer().name());
            }
            long seed = buf.getLong();
            if (seed != t.seed()) {
                throw new IOException(file + " was written by a run with seed " + seed + ", this trainer has seed " + t.seed());
            }
            long[] position = new long[7];
            for (int i = 0; i < 4; i++) {
                position[i] = buf.getLong();
            }
            double[] noise = null;
            if (!v1) {
                int at = buf.position();
                position[4] = buf.getInt();
                position[5] = buf.getInt();
                position[6] = buf.getLong();
                boolean adaptive = t.adaptiveBatch().isPresent();
                if (position[4] != 0 && !adaptive) {
                    throw new IOException(file + " was written by an adaptive-batch run (effective batch " + position[4]
                            + " at offset " + at + "); resume it with the adaptive batch switched on");
                }
                if (buf.get() != 0) {
                    noise = new double[4];
                    for (int i = 0; i < 4; i++) {
                        noise[i] = buf.getDouble();
                    }
                }
            }
            float[] values = readFloats(buf, p.values().size(), file, "parameter");
            float[] state = readFloats(buf, p.state().size(), file, "state");
            Tensor[] slots = t.optimizerState();
            int n = buf.getInt();
            if (n != slots.length) {
                throw new IOException(file + " holds " + n + " optimizer state tensors, expected " + slots.length);
            }
            float[][] slotValues = new float[n][];
            for (int i = 0; i < n; i++) {
                slotValues[i] = readFloats(buf, slots[i].size(), file, "optimizer state");
            }
            if (buf.hasRemaining()) {
                throw new IOException(file + " has " + buf.remaining() + " unexpected bytes at offset " + buf.position());
            }
            // Everything checked: only now touch the trainer.
            p.writeLogicalValues(values);
            p.state().write(state);
            for (int i = 0; i < n; i++) {
                slots[i].write(p.toStored(slotValues[i]));
            }
            if (v1) {
                t.legacyPosition(position[0], (int) position[1], (int) position[2], position[3]);
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
            throw new IOException(file + " ends early at offset " + buf.position(), e);
        }
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
