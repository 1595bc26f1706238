package io.batchwise.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Shape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Class folders of PNG/BMP files decoded with ImageIO; grey/RGB, resizing, normalisation; what is skipped or refused. */
class ImageFolderTest {
    @TempDir
    Path root;

    /** A 2x2 grey PNG with pixels {@code a b / c d} (8 bits). */
    private void grey(String path, int a, int b, int c, int d) throws IOException {
        BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setSamples(0, 0, 2, 2, 0, new int[] {a, b, c, d});
        write(img, path, "png");
    }

    private void rgb(String path, int argb, String format) throws IOException {
        BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 2; x++) {
                img.setRGB(x, y, argb);
            }
        }
        write(img, path, format);
    }

    private void write(BufferedImage img, String path, String format) throws IOException {
        Path p = root.resolve(path);
        Files.createDirectories(p.getParent());
        assertTrue(ImageIO.write(img, format, p.toFile()));
    }

    @Test
    void greyPixelsExactlyClassesSortedNonImagesSkipped() throws IOException {
        grey("cat/b.png", 0, 51, 102, 255);
        grey("cat/a.png", 255, 255, 255, 255);
        rgb("ant/x.bmp", 0xFF0000, "bmp"); // pure red: luma 0.299
        Files.writeString(root.resolve("cat/README.txt"), "not an image");
        Files.writeString(root.resolve("cat/.DS_Store"), "hidden");
        Files.writeString(root.resolve("notes.txt"), "a file beside the class folders");
        LabelledData d = ImageFolder.read(root, ImageTransform.grey(2, 2));
        assertEquals(List.of("ant", "cat"), d.classes());
        assertEquals(Shape.of(1, 2, 2), d.dataset().sampleShape());
        assertEquals(3, d.dataset().size());
        assertArrayEquals(new int[] {0, 1, 1}, CsvFormatTest.labels(d.dataset())); // class order, then file name order
        float[] x = CsvFormatTest.inputs(d.dataset());
        assertEquals(0.299f, x[0], 1e-6f);
        assertArrayEquals(new float[] {1, 1, 1, 1}, java.util.Arrays.copyOfRange(x, 4, 8));
        assertArrayEquals(new float[] {0, 0.2f, 0.4f, 1}, java.util.Arrays.copyOfRange(x, 8, 12), 1e-7f);
    }

    @Test
    void rgbChannelsResizeAndNormalisation() throws IOException {
        rgb("a/1.png", 0x336699, "png"); // 0.2, 0.4, 0.6
        grey("b/1.png", 0, 255, 0, 255);
        ImageTransform t = ImageTransform.rgb(2, 4).normalized(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
        LabelledData d = ImageFolder.read(root, t);
        assertEquals(Shape.of(3, 2, 4), d.dataset().sampleShape());
        float[] x = CsvFormatTest.inputs(d.dataset());
        // A uniform image stays uniform: (0.2 - 0.5) / 0.5 = -0.6, and so on.
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 8; i++) {
                assertEquals((0.2f * (c + 1) - 0.5f) / 0.5f, x[c * 8 + i], 1e-6f);
            }
        }
        // The grey image's columns 0 | 1, widened to 4 at pixel centres: 0, 0.25, 0.75, 1 in each of the 3 channels.
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 2; y++) {
                assertArrayEquals(new float[] {-1, -0.5f, 0.5f, 1}, java.util.Arrays.copyOfRange(x, 24 + c * 8 + y * 4, 24 + c * 8 + y * 4 + 4),
                        1e-6f);
            }
        }
    }

    @Test
    void refusedWithTheFileNamed() throws IOException {
        grey("a/1.png", 1, 2, 3, 4);
        Path broken = root.resolve("a/2.png");
        Files.writeString(broken, "this is not a PNG");
        DataFormatException e = assertThrows(DataFormatException.class, () -> ImageFolder.read(root, ImageTransform.grey(2, 2)));
        assertEquals(broken, e.file());
        assertTrue(e.getMessage().startsWith(broken + ": "), e.getMessage());
        Files.delete(broken);

        Files.createDirectories(root.resolve("b"));
        Files.writeString(root.resolve("b/readme.md"), "no images here");
        e = assertThrows(DataFormatException.class, () -> ImageFolder.read(root, ImageTransform.grey(2, 2)));
        assertEquals(root.resolve("b"), e.file());
        assertTrue(e.getMessage().contains("no images in the class folder"), e.getMessage());

        grey("b/deeper/1.png", 1, 2, 3, 4);
        e = assertThrows(DataFormatException.class, () -> ImageFolder.read(root, ImageTransform.grey(2, 2)));
        assertEquals(root.resolve("b/deeper"), e.file());

        e = assertThrows(DataFormatException.class, () -> ImageFolder.read(root, ImageTransform.grey(2, 2), List.of("a", "c")));
        assertTrue(e.getMessage().contains("'b' is not one of the 2 classes [a, c]"), e.getMessage());

        Path empty = root.resolve("empty");
        Files.createDirectories(empty);
        e = assertThrows(DataFormatException.class, () -> ImageFolder.read(empty, ImageTransform.grey(2, 2)));
        assertTrue(e.getMessage().contains("no class folders"), e.getMessage());
    }

    @Test
    void givenClassesKeepTheTrainingLabels() throws IOException {
        grey("z/1.png", 1, 2, 3, 4);
        LabelledData d = ImageFolder.read(root, ImageTransform.grey(2, 2), List.of("a", "z"));
        assertEquals(List.of("a", "z"), d.classes());
        assertArrayEquals(new int[] {1}, CsvFormatTest.labels(d.dataset()));
    }
}
