package io.batchwise.cli;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or not, and checks them whole.
 *
 * <pre>
 * offset 0: magic 0x00 0x00 type ndims   (type 0x08 = unsigned byte)
 * offset 4: ndims big-endian int32 dimensions
 * then:     prod(dims) unsigned bytes, nothing after them
 * </pre>
 * Images are {@code 0x00000803} {@code (count, rows, cols)}, labels {@code 0x00000801} {@code (count)}.
 * A gzipped file (recognised by its first two bytes, not by its name) is checked on its
 * decompressed bytes; offsets in error messages are offsets into those bytes.
 */
final class Idx {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private Idx() {
    }

    /** {@code count} images of {@code rows x cols} unsigned bytes, row-major, sample after sample. */
    record Images(Path file, int count, int rows, int cols, byte[] pixels) {
    }

    /** {@code count} labels, one unsigned byte each. */
    record Labels(Path file, int count, byte[] labels) {
    }

    /** A malformed IDX file: names the file and the byte offset where reading went wrong. */
    static final class FormatException extends IOException {
        private static final long serialVersionUID = 1L;
        private final transient Path file;
        private final long offset;

        FormatException(Path file, long offset, String what) {
            super(file + ": " + what + " (at byte offset " + offset + ")");
            this.file = file;
            this.offset = offset;
        }

        Path file() {
            return file;
        }

        long offset() {
            return offset;
        }
    }

    static Images readImages(Path file) throws IOException {
        Content c = read(file);
        int[] dims = header(c, IMAGES_MAGIC, 3, "unsigned-byte images (count, rows, cols)");
        byte[] data = body(c, dims, "image");
        return new Images(file, dims[0], dims[1], dims[2], data);
    }

    static Labels readLabels(Path file) throws IOException {
        Content c = read(file);
        int[] dims = header(c, LABELS_MAGIC, 1, "unsigned-byte labels (count)");
        byte[] data = body(c, dims, "label");
        return new Labels(file, dims[0], data);
    }

    /** The file's bytes, decompressed when it is gzipped. */
    private record Content(Path file, byte[] bytes, boolean gzipped) {
        String where() {
            return gzipped ? " of the decompressed data" : "";
        }
    }

    private static Content read(Path file) throws IOException {
        byte[] raw = Files.readAllBytes(file);
        if (raw.length < 2 || (raw[0] & 0xff) != 0x1f || (raw[1] & 0xff) != 0x8b) {
            return new Content(file, raw, false);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(1024, raw.length * 2));
        byte[] buf = new byte[1 << 16];
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw), 1 << 16)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
        } catch (EOFException e) {
            throw new FormatException(file, out.size(),
                    "the gzip stream ends early (the file is truncated); " + out.size() + " bytes decompressed");
        } catch (ZipException e) {
            throw new FormatException(file, out.size(), "corrupt gzip data (" + e.getMessage() + ") after "
                    + out.size() + " decompressed bytes");
        }
        return new Content(file, out.toByteArray(), true);
    }

    private static int[] header(Content c, int magic, int rank, String what) throws FormatException {
        byte[] b = c.bytes();
        if (b.length < 4) {
            throw new FormatException(c.file(), b.length, "truncated: " + b.length + " bytes" + c.where()
                    + ", too short for the 4-byte magic number");
        }
        int found = readInt(b, 0);
        if (found != magic) {
            throw new FormatException(c.file(), 0, String.format("bad magic number 0x%08x: expected 0x%08x, IDX %s%s",
                    found, magic, what, hint(found)));
        }
        int headerBytes = 4 + 4 * rank;
        if (b.length < headerBytes) {
            throw new FormatException(c.file(), b.length, "truncated in the header: " + b.length + " bytes" + c.where()
                    + ", the header needs " + headerBytes);
        }
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = readInt(b, 4 + 4 * i);
            if (dims[i] < 0 || (i > 0 && dims[i] == 0)) {
                throw new FormatException(c.file(), 4 + 4 * i, "dimension " + i + " is " + dims[i]);
            }
        }
        return dims;
    }

    private static String hint(int found) {
        if (found == IMAGES_MAGIC) {
            return " (this is an images file)";
        }
        if (found == LABELS_MAGIC) {
            return " (this is a labels file)";
        }
        if ((found & 0xffff0000) != 0) {
            return " (not an IDX file)";
        }
        return "";
    }

    private static byte[] body(Content c, int[] dims, String item) throws FormatException {
        byte[] b = c.bytes();
        int headerBytes = 4 + 4 * dims.length;
        long perItem = 1;
        StringBuilder shape = new StringBuilder().append(dims[0]);
        for (int i = 1; i < dims.length; i++) {
            perItem *= dims[i];
            shape.append(" x ").append(dims[i]);
        }
        long expected = headerBytes + dims[0] * perItem;
        if (expected > Integer.MAX_VALUE - 16) {
            throw new FormatException(c.file(), 4, "dimensions " + shape + " are too large");
        }
        if (b.length < expected) {
            long complete = (b.length - headerBytes) / perItem;
            throw new FormatException(c.file(), b.length, "truncated: " + b.length + " bytes" + c.where() + " but the header ("
                    + shape + ") needs " + expected + "; " + item + " " + complete + " of " + dims[0] + " is incomplete");
        }
        if (b.length > expected) {
            throw new FormatException(c.file(), expected, (b.length - expected) + " unexpected bytes after the last " + item
                    + " (the header says " + shape + ", " + expected + " bytes" + c.where() + ", found " + b.length + ")");
        }
        byte[] data = new byte[(int) (expected - headerBytes)];
        System.arraycopy(b, headerBytes, data, 0, data.length);
        return data;
    }

    private static int readInt(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }
}
