import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * corrupt.sh's helper: makes the small data folder, and corrupts one file per trial.
 *
 * <pre>
 * java Corrupt data SRC DST TRAIN TEST
 *     DST: the first TRAIN training and TEST test samples of the Fashion-MNIST folder SRC, the training
 *     images and test labels gzipped, the other two plain (the reader takes both).
 * java Corrupt mutate SEED TRIAL DATA CKPT OUT
 *     Corrupts one file, chosen at random (a third of the time the checkpoint CKPT, else one of DATA's
 *     four), into OUT/data (the other files linked) or OUT/ckpt/last.ckpt, and prints one line of four
 *     tab-separated fields, "data|ckpt FILE fail|valid|either WHAT": whether a correct reader must refuse it, must accept it
 *     (still a valid file: a flipped pixel, a label still in 0..9, a gzip time stamp) or may do either
 *     (a flip in deflate data can land in bits inflate ignores; the CRC catches the rest).
 * </pre>
 * The trial's RNG is seeded from SEED and TRIAL, so one trial reproduces alone.
 */
public final class Corrupt {
    static final String[] FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte"};

    public static void main(String[] a) throws IOException {
        if (a[0].equals("data")) {
            data(Path.of(a[1]), Path.of(a[2]), Integer.parseInt(a[3]), Integer.parseInt(a[4]));
        } else {
            Random rnd = new Random(Long.parseLong(a[1]) * 1_000_003L + Long.parseLong(a[2]));
            System.out.println(mutate(rnd, Path.of(a[3]), Path.of(a[4]), Path.of(a[5])));
        }
    }

    static void data(Path src, Path dst, int train, int test) throws IOException {
        Files.createDirectories(dst);
        for (int i = 0; i < 4; i++) {
            byte[] b = read(src.resolve(FILES[i] + ".gz"));
            int header = i % 2 == 0 ? 16 : 8;
            int count = i < 2 ? train : test;
            byte[] small = Arrays.copyOf(b, header + count * (i % 2 == 0 ? 28 * 28 : 1));
            ByteBuffer.wrap(small).putInt(4, count);
            boolean gz = i == 0 || i == 3;
            Files.write(dst.resolve(FILES[i] + (gz ? ".gz" : "")), gz ? gzip(small) : small);
        }
    }

    static String mutate(Random rnd, Path data, Path ckpt, Path out) throws IOException {
        if (rnd.nextInt(3) == 0) {
            Path f = Files.createDirectories(out.resolve("ckpt")).resolve("last.ckpt");
            byte[] b = Files.readAllBytes(ckpt);
            Mutated m = mutate(rnd, b, 16, false);
            Files.write(f, m.bytes);
            return String.join("\t", "ckpt", f.toString(), Arrays.equals(m.bytes, b) ? "valid" : "fail", m.what); // CRC
        }
        Path dir = Files.createDirectories(out.resolve("data"));
        int target = rnd.nextInt(4);
        Path f = null;
        for (int i = 0; i < 4; i++) {
            Path p = Files.exists(data.resolve(FILES[i] + ".gz")) ? data.resolve(FILES[i] + ".gz") : data.resolve(FILES[i]);
            if (i == target) {
                f = dir.resolve(p.getFileName());
            } else {
                Files.createSymbolicLink(dir.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        byte[] b = Files.readAllBytes(data.resolve(f.getFileName()));
        boolean labels = target % 2 == 1;
        int header = labels ? 8 : 16;
        String expect;
        Mutated m;
        if (!isGzip(b)) {
            m = mutate(rnd, b, header, labels);
            expect = m.valid ? "valid" : "fail";
        } else if (rnd.nextBoolean()) { // the IDX bytes inside, gzipped again
            m = mutate(rnd, gunzip(b), header, labels);
            m = new Mutated(gzip(m.bytes), m.what + ", gzipped", m.valid);
            expect = m.valid ? "valid" : "fail";
        } else { // the gzip bytes: 4-9 (time, extra flags, OS) do not matter; flags (3) and deflate data may not
            m = mutate(rnd, b, 10, false);
            int first = Arrays.mismatch(m.bytes, b); // the bytes changed, when the length is the same
            int last = first < 0 ? -1 : b.length - 1 - Arrays.mismatch(reverse(m.bytes), reverse(b));
            expect = first < 0 ? "valid" : m.bytes.length != b.length || first < 3 || last >= b.length - 8 ? "fail"
                    : first >= 4 && last < 10 ? "valid" : "either";
            m = new Mutated(m.bytes, "gzip bytes: " + m.what, false);
        }
        Files.write(f, m.bytes);
        return String.join("\t", "data", f.toString(), expect, m.what);
    }

    /**
     * One corruption of {@code b}: a bit flip, a byte or a 4-byte header field overwritten, truncation, or bytes
     * appended. {@code valid}: an IDX file (header {@code header} bytes, labels when {@code labels}) is still valid:
     * the change is in its data and leaves a label in 0..9.
     */
    static Mutated mutate(Random rnd, byte[] b, int header, boolean labels) {
        b = b.clone();
        int kind = rnd.nextInt(5);
        if (kind == 3) { // truncation: at the edges of the header, at the end, or anywhere
            int[] at = {0, 1, 3, 4, 8, header - 1, header, header + 1, b.length - 1, rnd.nextInt(b.length)};
            int cut = Math.min(at[rnd.nextInt(at.length)], b.length - 1);
            return new Mutated(Arrays.copyOf(b, cut), "truncated at " + cut + " of " + b.length, false);
        }
        if (kind == 4) {
            byte[] c = Arrays.copyOf(b, b.length + 1 + rnd.nextInt(16));
            for (int i = b.length; i < c.length && rnd.nextBoolean(); i++) {
                c[i] = (byte) rnd.nextInt(256);
            }
            return new Mutated(c, (c.length - b.length) + " bytes appended", false);
        }
        String what;
        int at;
        if (kind == 2) { // a header field
            at = 4 * rnd.nextInt(header / 4);
            int old = ByteBuffer.wrap(b).getInt(at);
            int[] v = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, old + 1, old - 1, 1 << 20, rnd.nextInt()};
            int value = v[rnd.nextInt(v.length)];
            ByteBuffer.wrap(b).putInt(at, value);
            what = "field at " + at + " = " + value;
            return new Mutated(b, what, value == old);
        }
        at = rnd.nextBoolean() ? rnd.nextInt(Math.min(header, b.length)) : rnd.nextInt(b.length);
        byte old = b[at];
        if (kind == 0) {
            int bit = rnd.nextInt(8);
            b[at] ^= (byte) (1 << bit);
            what = "bit " + bit + " of byte " + at + " flipped";
        } else {
            b[at] = (byte) rnd.nextInt(256);
            what = "byte " + at + " = " + (b[at] & 0xff);
        }
        boolean valid = b[at] == old || (at >= header && (!labels || (b[at] & 0xff) < 10));
        return new Mutated(b, what, valid);
    }

    record Mutated(byte[] bytes, String what, boolean valid) {
    }

    static byte[] reverse(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = b[b.length - 1 - i];
        }
        return r;
    }

    static boolean isGzip(byte[] b) {
        return b.length >= 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b;
    }

    static byte[] read(Path gz) throws IOException {
        return gunzip(Files.readAllBytes(gz));
    }

    static byte[] gunzip(byte[] b) throws IOException {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(b))) {
            return in.readAllBytes();
        }
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(b);
        }
        return out.toByteArray();
    }
}
