package io.batchwise.cli;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or not, and checks them whole.
 *
 * <pre>
 * offset 0: magic 0x00 0x00 type ndims   (type 0x08 = unsigned byte)
 * offset 4: ndims big-endian int32 dimensions
 * then:     prod(dims) unsigned bytes, nothing after them
 * </pre>
 * Images are {@code 0x00000803} {@code (count, rows, cols)}, labels {@code 0x00000801} {@code (count)}.
 * A gzipped file (recognised by its first two bytes, not by its name) is checked as gzip (headers, CRC-32, length,
 * nothing after the last member) and as IDX on its decompressed bytes; an error's offset says which it counts in.
 */
final class Idx {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;
    /** The most data bytes a file may hold: a Java array's limit. */
    private static final long MAX_DATA = Integer.MAX_VALUE - 16;

    private Idx() {
    }

    /** {@code count} images of {@code rows x cols} unsigned bytes, row-major, sample after sample. */
    record Images(Path file, int count, int rows, int cols, byte[] pixels, boolean gzipped) {
    }

    /** {@code count} labels, one unsigned byte each. */
    record Labels(Path file, int count, byte[] labels, boolean gzipped) {
    }

    /** A malformed IDX file: one line naming the file and the byte offset where reading went wrong. */
    static final class FormatException extends IOException {
        private static final long serialVersionUID = 1L;
        private final transient Path file;
        private final long offset;

        /** {@code decompressed}: the offset is in a gzipped file's decompressed data, not in the file. */
        FormatException(Path file, long offset, boolean decompressed, String what) {
            super(file + ": " + what + " (at byte offset " + offset + (decompressed ? " of the decompressed data" : "") + ")");
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
        Content c = read(file, IMAGES_MAGIC, 3, "unsigned-byte images (count, rows, cols)", "image");
        return new Images(file, c.dims()[0], c.dims()[1], c.dims()[2], c.data(), c.gzipped());
    }

    static Labels readLabels(Path file) throws IOException {
        Content c = read(file, LABELS_MAGIC, 1, "unsigned-byte labels (count)", "label");
        return new Labels(file, c.dims()[0], c.data(), c.gzipped());
    }

    /** A checked file: its dimensions and the bytes after the header. */
    private record Content(int[] dims, byte[] data, boolean gzipped) {
    }

    /** Reads the header and checks it, then exactly the data it announces, then requires the end of the data. */
    private static Content read(Path file, int magic, int rank, String what, String item) throws IOException {
        byte[] raw = Files.readAllBytes(file);
        boolean gz = raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b;
        try (InputStream in = gz ? new Gunzip(file, raw) : new ByteArrayInputStream(raw)) {
            byte[] header = new byte[4 + 4 * rank];
            int got = in.readNBytes(header, 0, 4);
            if (got < 4) {
                throw new FormatException(file, got, gz, "truncated: " + got + " bytes, too short for the 4-byte magic number");
            }
            int found = readInt(header, 0);
            if (found != magic) {
                throw new FormatException(file, 0, gz, String.format("bad magic number 0x%08x: expected 0x%08x, IDX %s%s",
                        found, magic, what, hint(found)));
            }
            got = 4 + in.readNBytes(header, 4, header.length - 4);
            if (got < header.length) {
                throw new FormatException(file, got, gz, "truncated in the header: " + got + " bytes, the header needs "
                        + header.length);
            }
            int[] dims = new int[rank];
            StringBuilder shape = new StringBuilder();
            for (int i = 0; i < rank; i++) {
                dims[i] = readInt(header, 4 + 4 * i);
                if (dims[i] < 0 || (i > 0 && dims[i] == 0)) {
                    throw new FormatException(file, 4 + 4 * i, gz, "dimension " + i + " is " + dims[i]);
                }
                shape.append(i > 0 ? " x " : "").append(dims[i]);
            }
            long perItem = 1;
            for (int i = 1; i < rank; i++) {
                perItem *= dims[i]; // at most two ints: no overflow
            }
            if (perItem > MAX_DATA || dims[0] * perItem > MAX_DATA) {
                throw new FormatException(file, 4, gz, "dimensions " + shape + " are too large (over " + MAX_DATA + " bytes)");
            }
            long size = dims[0] * perItem;
            long expected = header.length + size;
            // Read in chunks, not into an array of the header's size: a corrupt dimension must cost no more memory
            // than the data that is really there.
            byte[] data = in.readNBytes((int) size);
            got = data.length;
            if (got < size) {
                long end = header.length + got;
                throw new FormatException(file, end, gz, "truncated: " + end + " bytes but the header (" + shape + ") needs "
                        + expected + "; " + item + " " + got / perItem + " of " + dims[0] + " is incomplete");
            }
            long extra = in.skip(Long.MAX_VALUE); // of gzip data, this checks the rest of the stream too
            if (extra > 0) {
                throw new FormatException(file, expected, gz, extra + " unexpected bytes after the last " + item
                        + " (the header says " + shape + ", " + expected + " bytes, found " + (expected + extra) + ")");
            }
            return new Content(dims, data, gz);
        }
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

    private static int readInt(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    /**
     * The decompressed bytes of gzip data (RFC 1952), checked as they are read: each member's header, its CRC-32 and
     * length; at the end, nothing but further members. {@link java.util.zip.GZIPInputStream} would ignore bytes
     * appended to the file, and say nothing of where its errors are. Offsets in its errors are in the file.
     */
    private static final class Gunzip extends InputStream {
        private static final int FHCRC = 2;
        private static final int FEXTRA = 4;
        private static final int FNAME = 8;
        private static final int FCOMMENT = 16;

        private final Path file;
        private final byte[] raw;
        private final Inflater inflater = new Inflater(true);
        private final CRC32 crc = new CRC32();
        private int start; // where the current member's deflate data begins
        private long memberBytes; // decompressed so far, this member
        private long total; // decompressed so far, all members
        private boolean end;

        Gunzip(Path file, byte[] raw) throws FormatException {
            this.file = file;
            this.raw = raw;
            try {
                header(0);
            } catch (FormatException e) {
                inflater.end();
                throw e;
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (!end) {
                int n;
                try {
                    n = inflater.inflate(b, off, len);
                } catch (DataFormatException e) {
                    throw error(start + inflater.getBytesRead(), "corrupt gzip data (" + e.getMessage() + ")");
                }
                if (n > 0) {
                    crc.update(b, off, n);
                    memberBytes += n;
                    total += n;
                    return n;
                }
                if (inflater.finished()) {
                    trailer();
                } else if (inflater.needsInput()) {
                    throw error(raw.length, "the gzip data ends early (the file is truncated)");
                } else { // raw deflate data never asks for a dictionary: this is a stall
                    throw error(start + inflater.getBytesRead(), "corrupt gzip data (the deflate stream makes no progress)");
                }
            }
            return -1;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[1 << 16];
            long skipped = 0;
            for (int k; skipped < n && (k = read(buf, 0, (int) Math.min(buf.length, n - skipped))) > 0; ) {
                skipped += k;
            }
            return skipped;
        }

        @Override
        public void close() {
            inflater.end();
        }

        /** The member's CRC-32 and length (mod 2^32), then another member or the end of the file. */
        private void trailer() throws FormatException {
            int at = start + (int) inflater.getBytesRead();
            if (raw.length - at < 8) {
                throw error(raw.length, "the gzip data ends early (the file is truncated in the 8-byte trailer at offset "
                        + at + ")");
            }
            ByteBuffer t = ByteBuffer.wrap(raw, at, 8).order(ByteOrder.LITTLE_ENDIAN);
            if ((t.getInt() & 0xffffffffL) != crc.getValue()) {
                throw error(at, "gzip checksum mismatch: the data is corrupt");
            }
            if ((t.getInt() & 0xffffffffL) != (memberBytes & 0xffffffffL)) {
                throw error(at + 4, "gzip length mismatch: the data is corrupt");
            }
            at += 8;
            if (at == raw.length) {
                end = true;
            } else if (raw.length - at >= 2 && (raw[at] & 0xff) == 0x1f && (raw[at + 1] & 0xff) == 0x8b) {
                header(at); // concatenated members decompress as one stream
            } else {
                throw error(at, (raw.length - at) + " unexpected bytes after the gzip data");
            }
        }

        /** Checks the member header at {@code at} and starts inflating the data after it. */
        private void header(int at) throws FormatException {
            need(at, 10);
            int flags = raw[at + 3] & 0xff;
            if ((raw[at + 2] & 0xff) != 8) {
                throw error(at + 2, "unknown gzip compression method " + (raw[at + 2] & 0xff) + " (8 is deflate)");
            }
            if ((flags & 0xe0) != 0) {
                throw error(at + 3, String.format("reserved gzip header flags set (0x%02x)", flags));
            }
            int p = at + 10; // after magic, method, flags, time, extra flags, OS
            if ((flags & FEXTRA) != 0) {
                need(p, 2);
                p += 2 + ((raw[p] & 0xff) | (raw[p + 1] & 0xff) << 8);
            }
            for (int field : new int[] {FNAME, FCOMMENT}) { // zero-terminated strings
                for (boolean more = (flags & field) != 0; more; p++) {
                    need(p, 1);
                    more = raw[p] != 0;
                }
            }
            if ((flags & FHCRC) != 0) {
                need(p, 2);
                CRC32 h = new CRC32();
                h.update(raw, at, p - at);
                if (((raw[p] & 0xff) | (raw[p + 1] & 0xff) << 8) != (h.getValue() & 0xffff)) {
                    throw error(p, "gzip header checksum mismatch: the header is corrupt");
                }
                p += 2;
            }
            need(p, 0);
            start = p;
            memberBytes = 0;
            crc.reset();
            inflater.reset();
            inflater.setInput(raw, p, raw.length - p);
        }

        /** Refuses a header that would run past the end of the file. */
        private void need(int at, int n) throws FormatException {
            if ((long) at + n > raw.length) {
                throw error(raw.length, "the gzip data ends early (the file is truncated in a gzip header)");
            }
        }

        private FormatException error(long at, String what) {
            return new FormatException(file, at, false, what + (total > 0 ? " after " + total + " decompressed bytes" : ""));
        }
    }
}
