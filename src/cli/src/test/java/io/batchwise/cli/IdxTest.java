package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.train.InMemoryDataset;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The IDX reader on small files built here: good, gzipped, truncated, corrupt, mismatched. */
class IdxTest {
    @TempDir
    Path dir;

    /** An IDX file: magic, big-endian dims, then {@code data}. */
    static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(data);
        return b.array();
    }

    static byte[] images(int count) {
        byte[] px = new byte[count * 28 * 28];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 7);
        }
        return idx(Idx.IMAGES_MAGIC, new int[] {count, 28, 28}, px);
    }

    static byte[] labels(int count) {
        byte[] y = new byte[count];
        for (int i = 0; i < count; i++) {
            y[i] = (byte) (i % 10);
        }
        return idx(Idx.LABELS_MAGIC, new int[] {count}, y);
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }

    Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    @Test
    void readsPlainAndGzippedFilesAlike() throws IOException {
        Path plainImages = write("i", images(3));
        Path gzImages = write("i.gz", gzip(images(3)));
        Idx.Images a = Idx.readImages(plainImages);
        Idx.Images b = Idx.readImages(gzImages);
        assertEquals(3, a.count());
        assertEquals(28, a.rows());
        assertEquals(28, a.cols());
        assertArrayEquals(a.pixels(), b.pixels());
        Idx.Labels l = Idx.readLabels(write("l.gz", gzip(labels(3))));
        assertEquals(3, l.count());
        assertArrayEquals(new byte[] {0, 1, 2}, l.labels());
    }

    @Test
    void datasetScalesPixelsAndPairsLabels() throws IOException {
        InMemoryDataset d = FashionMnist.dataset(write("i", images(4)), write("l", labels(4)));
        assertEquals(4, d.size());
        assertEquals(FashionMnist.SAMPLE, d.sampleShape());
        float[] x = new float[2 * 784];
        d.copyInputs(new int[] {0, 1}, 0, 2, x);
        // pixel 1 of sample 0 is 7: (7/255 - mean) / std
        assertEquals((7 / 255.0 - FashionMnist.MEAN) / FashionMnist.STD, x[1], 1e-6);
        assertEquals((0 - FashionMnist.MEAN) / FashionMnist.STD, x[0], 1e-6);
    }

    @Test
    void truncatedDataNamesTheFileAndOffset() throws IOException {
        byte[] full = images(3);
        Path f = write("trunc", Arrays.copyOf(full, full.length - 100));
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(f));
        assertEquals(f, e.file());
        assertEquals(full.length - 100, e.offset());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("byte offset " + (full.length - 100)), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("image 2 of 3 is incomplete"), e.getMessage());
    }

    @Test
    void truncatedHeaderAndTinyFile() throws IOException {
        Path header = write("header", Arrays.copyOf(images(1), 10));
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(header));
        assertEquals(10, e.offset());
        assertTrue(e.getMessage().contains("header"), e.getMessage());
        Path tiny = write("tiny", new byte[] {0, 0});
        e = assertThrows(Idx.FormatException.class, () -> Idx.readLabels(tiny));
        assertEquals(2, e.offset());
    }

    @Test
    void truncatedGzipStreamNamesTheFile() throws IOException {
        byte[] gz = gzip(images(50));
        Path f = write("cut.gz", Arrays.copyOf(gz, gz.length / 2));
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(f));
        assertEquals(f, e.file());
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("byte offset"), e.getMessage());
        assertTrue(e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void corruptGzipDataIsReported() throws IOException {
        byte[] gz = gzip(images(20));
        for (int i = 20; i < gz.length - 20; i += 7) {
            gz[i] ^= 0x5a;
        }
        Path f = write("corrupt.gz", gz);
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void bytesAfterTheGzipDataAreRefused() throws IOException {
        byte[] gz = gzip(labels(4));
        Path f = write("tail.gz", Arrays.copyOf(gz, gz.length + 5)); // GZIPInputStream would ignore these
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readLabels(f));
        assertEquals(gz.length, e.offset());
        assertTrue(e.getMessage().contains("5 unexpected bytes after the gzip data"), e.getMessage());
        // Two members are one stream: here, labels with 4 bytes too many after the last.
        byte[] second = gzip(new byte[4]);
        byte[] two = Arrays.copyOf(gz, gz.length + second.length);
        System.arraycopy(second, 0, two, gz.length, second.length);
        Path g = write("two.gz", two);
        e = assertThrows(Idx.FormatException.class, () -> Idx.readLabels(g));
        assertEquals(labels(4).length, e.offset());
        assertTrue(e.getMessage().contains("4 unexpected bytes after the last label")
                && e.getMessage().contains("of the decompressed data"), e.getMessage());
    }

    @Test
    void gzipChecksumAndLengthAreChecked() throws IOException {
        byte[] gz = gzip(images(2));
        gz[gz.length - 8] ^= 1; // CRC-32 of the data
        Path f = write("crc.gz", gz);
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(f));
        assertEquals(gz.length - 8, e.offset());
        assertTrue(e.getMessage().contains("gzip checksum mismatch"), e.getMessage());
        gz[gz.length - 8] ^= 1;
        gz[gz.length - 1] ^= 1; // length mod 2^32
        Path g = write("len.gz", gz);
        e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(g));
        assertEquals(gz.length - 4, e.offset());
        assertTrue(e.getMessage().contains("gzip length mismatch"), e.getMessage());
    }

    @Test
    void hugeDimensionsAreRefusedFromTheHeader() throws IOException {
        // 2^31 - 1 images of 28 x 28: refused at the count, nothing of that size allocated.
        byte[] b = images(1);
        ByteBuffer.wrap(b).putInt(4, Integer.MAX_VALUE);
        Path f = write("huge", b);
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(f));
        assertEquals(4, e.offset());
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
        // 2^20 images (822 MB) fits an array, but the file holds one: truncated, read in chunks, not allocated whole.
        ByteBuffer.wrap(b).putInt(4, 1 << 20);
        Path g = write("big.gz", gzip(b));
        long before = Allocation.bytes();
        e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(g));
        Allocation.assertSmall(before, "a count of 2^20 images");
        assertEquals(b.length, e.offset());
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("image 1 of 1048576 is incomplete")
                && e.getMessage().contains("of the decompressed data"), e.getMessage());
    }

    @Test
    void badMagicNumber() throws IOException {
        Path f = write("magic", idx(0x00000802, new int[] {1, 28, 28}, new byte[784]));
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(f));
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("bad magic number 0x00000802") && e.getMessage().contains("0x00000803"), e.getMessage());
        // A labels file where images are expected says so.
        Path labelsFile = write("swapped", labels(5));
        e = assertThrows(Idx.FormatException.class, () -> Idx.readImages(labelsFile));
        assertTrue(e.getMessage().contains("labels file"), e.getMessage());
        Path text = write("text", "hello, world".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        e = assertThrows(Idx.FormatException.class, () -> Idx.readLabels(text));
        assertTrue(e.getMessage().contains("not an IDX file"), e.getMessage());
    }

    @Test
    void extraBytesAfterTheData() throws IOException {
        byte[] full = labels(4);
        Path f = write("extra", Arrays.copyOf(full, full.length + 3));
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> Idx.readLabels(f));
        assertEquals(full.length, e.offset());
        assertTrue(e.getMessage().contains("3 unexpected bytes"), e.getMessage());
    }

    @Test
    void countMismatchBetweenImagesAndLabels() throws IOException {
        Path i = write("i", images(5));
        Path l = write("l", labels(4));
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> FashionMnist.dataset(i, l));
        assertEquals(l, e.file());
        assertEquals(4, e.offset());
        assertTrue(e.getMessage().contains("4 labels") && e.getMessage().contains("5 images"), e.getMessage());
    }

    @Test
    void labelOutOfRangeAndWrongImageSize() throws IOException {
        byte[] bad = labels(3);
        bad[8 + 2] = 12;
        Path l = write("l", bad);
        Idx.FormatException e = assertThrows(Idx.FormatException.class, () -> FashionMnist.dataset(write("i", images(3)), l));
        assertEquals(10, e.offset());
        assertTrue(e.getMessage().contains("label 12"), e.getMessage());

        Path small = write("small", idx(Idx.IMAGES_MAGIC, new int[] {2, 14, 14}, new byte[2 * 196]));
        e = assertThrows(Idx.FormatException.class, () -> FashionMnist.dataset(small, write("l2", labels(2))));
        assertTrue(e.getMessage().contains("14x14") && e.getMessage().contains("28x28"), e.getMessage());
    }

    @Test
    void missingFolderSaysHowToGetTheData() {
        Path none = dir.resolve("no-such-folder");
        FashionMnist.MissingDataException e = assertThrows(FashionMnist.MissingDataException.class, () -> FashionMnist.load(none));
        assertTrue(e.getMessage().contains(none.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
        assertTrue(e.getMessage().contains("--data"), e.getMessage());
    }

    @Test
    void incompleteFolderListsTheMissingFiles() throws IOException {
        write(FashionMnist.TRAIN_IMAGES + ".gz", gzip(images(2)));
        write(FashionMnist.TRAIN_LABELS, labels(2));
        FashionMnist.MissingDataException e = assertThrows(FashionMnist.MissingDataException.class, () -> FashionMnist.load(dir));
        assertTrue(e.getMessage().contains(FashionMnist.TEST_IMAGES) && e.getMessage().contains(FashionMnist.TEST_LABELS),
                e.getMessage());
        assertTrue(!e.getMessage().contains("lacks " + FashionMnist.TRAIN_IMAGES), e.getMessage());
    }

    @Test
    void loadsAFolderOfMixedGzippedAndPlainFiles() throws IOException {
        write(FashionMnist.TRAIN_IMAGES + ".gz", gzip(images(6)));
        write(FashionMnist.TRAIN_LABELS, labels(6));
        write(FashionMnist.TEST_IMAGES, images(2));
        write(FashionMnist.TEST_LABELS + ".gz", gzip(labels(2)));
        FashionMnist.Data d = FashionMnist.load(dir);
        assertEquals(6, d.train().size());
        assertEquals(2, d.test().size());
    }
}
