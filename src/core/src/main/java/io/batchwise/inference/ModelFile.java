package io.batchwise.inference;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.layer.Layer;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The model file ({@code .bw}): a graph with its trained weights and BatchNorm running statistics, no optimizer state.
 * Layout (big-endian), version 1:
 * <pre>
 * "BWMODEL1" (8)
 * | nodes (4) | per node: name (UTF) | layer (tag 1 + fields, see {@link LayerCodec}) | inputs (2) + names (UTF each)
 *   | output shape (rank 1 + dims 4 each, checked against the one the graph infers)
 * | output node's index (4)
 * | values: count (8) + floats | state: count (8) + floats, each in {@link ParameterLayout} order, logical element order
 * | CRC32 of all bytes before it (8)
 * </pre>
 * Written as a checkpoint is: to a temporary file, forced, renamed over the target, the folder forced. Read whole and
 * checked (header, checksum, then every field; the graph is rebuilt through {@link Graph#builder()}, which re-infers
 * and checks every shape) before anything is allocated; a refusal's one-line message names the file and an offset.
 */
final class ModelFile {
    private static final byte[] MAGIC = "BWMODEL1".getBytes(StandardCharsets.US_ASCII);
    /** Any Batchwise file's first six bytes: a model file of another version, or a checkpoint. */
    private static final String FAMILY = "BWMODE";
    /** Nodes are at least 10 bytes each: a count beyond what the data could hold is corruption. */
    private static final int MIN_NODE_BYTES = 10;

    private ModelFile() {
    }

    /** What a model file holds: a built graph and its values and state in logical order. */
    record Contents(Graph graph, float[] values, float[] state) {
    }

    static byte[] encode(Graph graph, float[] values, float[] state) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(MAGIC);
        List<Node> nodes = graph.nodes();
        out.writeInt(nodes.size());
        for (Node n : nodes) {
            out.writeUTF(n.name());
            LayerCodec.write(out, n.layer());
            out.writeShort(n.inputs().size());
            for (String in : n.inputs()) {
                out.writeUTF(in);
            }
            LayerCodec.writeShape(out, n.outputShape());
        }
        out.writeInt(graph.output().index());
        writeFloats(out, values);
        writeFloats(out, state);
        out.flush();
        CRC32 crc = new CRC32();
        crc.update(bytes.toByteArray());
        out.writeLong(crc.getValue());
        out.flush();
        return bytes.toByteArray();
    }

    /** Writes {@code bytes} to {@code file} atomically and durably (temporary file, force, rename, force the folder). */
    static void write(Path file, byte[] bytes) throws IOException {
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
            try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                ch.force(true);
            } catch (IOException e) {
                // a platform that cannot open a folder (Windows): the rename is as durable as the file system makes it
            }
        }
    }

    static Contents read(Path file) throws IOException {
        return decode(file, Files.readAllBytes(file));
    }

    /** The checked contents of {@code all}, the bytes of {@code file}; or an IOException naming the file and an offset. */
    static Contents decode(Path file, byte[] all) throws IOException {
        if (!startsWithMagic(all)) {
            if (all.length < MAGIC.length && Arrays.equals(all, 0, all.length, MAGIC, 0, all.length)) {
                throw new IOException(file + " is truncated: " + all.length + " bytes, it ends at offset " + all.length
                        + " inside the " + MAGIC.length + "-byte header");
            }
            String head = new String(all, 0, Math.min(all.length, MAGIC.length), StandardCharsets.US_ASCII);
            String what = head.startsWith("BWCKPT") ? "; it is a Batchwise checkpoint: turn it into a model file with"
                    + " 'batchwise export --checkpoint " + file + " --model NAME --out model.bw'"
                    : head.startsWith(FAMILY) && head.length() == MAGIC.length && printable(head)
                    ? "; its header " + head + " is a version this Batchwise cannot read" : "";
            throw new IOException(file + " is not a Batchwise model file (no " + new String(MAGIC, StandardCharsets.US_ASCII)
                    + " header at offset 0)" + what);
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
        ByteBuffer buf = ByteBuffer.wrap(all, 0, crcAt);
        buf.position(MAGIC.length);
        int at = buf.position();
        try {
            int count = buf.getInt();
            if (count < 1 || count > buf.remaining() / MIN_NODE_BYTES) {
                throw new IOException(file + " is corrupt: node count " + count + " at offset " + at + " is outside 1.."
                        + buf.remaining() / MIN_NODE_BYTES + " (what its size can hold)");
            }
            Graph.Builder builder = Graph.builder();
            List<String> names = new ArrayList<>();
            List<Shape> shapes = new ArrayList<>();
            List<Integer> offsets = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                at = buf.position();
                offsets.add(at);
                String name = readName(buf, file, "node name");
                Layer layer;
                int layerAt = buf.position();
                try {
                    layer = LayerCodec.read(buf);
                } catch (LayerCodec.Malformed e) {
                    throw new IOException(file + " is corrupt: node '" + name + "' at offset " + at + " has a bad layer at"
                            + " offset " + layerAt + ": " + oneLine(e.getMessage()));
                }
                int inAt = buf.position();
                int inputs = buf.getShort() & 0xFFFF;
                if (inputs > i) {
                    throw new IOException(file + " is corrupt: node '" + name + "' reads " + inputs + " inputs (at offset "
                            + inAt + "), more than the " + i + " nodes before it");
                }
                String[] in = new String[inputs];
                for (int j = 0; j < inputs; j++) {
                    in[j] = readName(buf, file, "input name");
                }
                int shapeAt = buf.position();
                try {
                    shapes.add(LayerCodec.readShape(buf));
                } catch (LayerCodec.Malformed e) {
                    throw new IOException(file + " is corrupt: the output shape of node '" + name + "' at offset " + shapeAt
                            + ": " + oneLine(e.getMessage()));
                }
                names.add(name);
                builder.add(name, layer, in);
            }
            at = buf.position();
            int output = buf.getInt();
            if (output < 0 || output >= count) {
                throw new IOException(file + " is corrupt: output node index " + output + " at offset " + at
                        + " is outside 0.." + (count - 1));
            }
            Graph graph;
            try {
                graph = builder.output(names.get(output)).build();
            } catch (IllegalArgumentException | IllegalStateException | ArithmeticException e) {
                // ArithmeticException: a shape whose size overflows an int (Shape.sizeAsInt)
                throw new IOException(file + " holds a graph that does not build (nodes from offset " + offsets.get(0) + "): "
                        + oneLine(e.getMessage()));
            }
            for (Node n : graph.nodes()) {
                if (!n.outputShape().equals(shapes.get(n.index()))) {
                    throw new IOException(file + " is corrupt: node " + n.describe() + " at offset " + offsets.get(n.index())
                            + " was saved with output shape " + shapes.get(n.index()) + " but its inputs give "
                            + n.outputShape());
                }
            }
            ParameterLayout layout = new ParameterLayout(graph);
            float[] values = readFloats(buf, layout.trainableSize(), file, "parameter");
            float[] state = readFloats(buf, layout.stateSize(), file, "state");
            if (buf.hasRemaining()) {
                throw new IOException(file + " has " + buf.remaining() + " unexpected bytes at offset " + buf.position()
                        + ", before its checksum");
            }
            return new Contents(graph, values, state);
        } catch (BufferUnderflowException e) {
            throw new IOException(file + " is corrupt: a field at offset " + buf.position() + " runs past the data's end"
                    + " at offset " + crcAt);
        }
    }

    private static boolean startsWithMagic(byte[] all) {
        return all.length >= MAGIC.length && Arrays.equals(all, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    /** A non-empty, well-formed, printable UTF name. */
    private static String readName(ByteBuffer buf, Path file, String what) throws IOException {
        int at = buf.position();
        int len = buf.getShort() & 0xFFFF;
        byte[] b = new byte[len];
        buf.get(b);
        String s = new String(b, StandardCharsets.UTF_8);
        if (len == 0 || !Arrays.equals(s.getBytes(StandardCharsets.UTF_8), b) || !s.codePoints().allMatch(c -> c >= 0x20 && c != 0x7f)) {
            throw new IOException(file + " is corrupt: the " + what + " at offset " + at + " is empty, not UTF-8 or not printable");
        }
        return s;
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
            throw new IOException(file + " holds " + n + " " + what + " values at offset " + at + ", its graph has " + expected);
        }
        if (n > buf.remaining() / 4) {
            throw new BufferUnderflowException();
        }
        float[] a = new float[(int) n];
        buf.asFloatBuffer().get(a);
        buf.position(buf.position() + 4 * (int) n);
        return a;
    }

    private static boolean printable(String s) {
        return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
    }

    /** A message from a layer or the graph builder, kept on one line. */
    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("[\\r\\n]+", " ");
    }
}
