package io.batchwise.data;

import io.batchwise.train.InMemoryDataset;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A folder of images, one sub-folder per class ({@code root/cat/1.png, root/dog/7.jpg, ...}), decoded with
 * {@code javax.imageio} (PNG, JPEG, BMP, GIF, WBMP, TIFF in the JDK) and turned into samples by an
 * {@link ImageTransform}.
 *
 * <p>The rules: the classes are the sub-folders of {@code root} whose names do not start with {@code .}, sorted by
 * name ({@link String#compareTo}), the first being class 0; plain files directly in {@code root} are ignored. In a
 * class folder, files whose names start with {@code .} ({@code .DS_Store}) and files without an image suffix ImageIO
 * reads ({@code README.txt}) are skipped and counted in a warning; a file with an image suffix that does not decode is
 * an error naming it, as are a nested folder, a class folder with no image and a root with no class folder. Samples
 * are in class order, then file-name order.
 */
public final class ImageFolder {
    private static final Logger LOG = LoggerFactory.getLogger(ImageFolder.class);

    private ImageFolder() {
    }

    /** Reads {@code root}; the classes are its sub-folders. */
    public static LabelledData read(Path root, ImageTransform transform) throws IOException {
        return read(root, transform, null);
    }

    /**
     * Reads {@code root} with the class names fixed to {@code classes} (a test folder read with the training folder's
     * classes gets the same labels): every sub-folder must be one of them; a class may lack a folder.
     */
    public static LabelledData read(Path root, ImageTransform transform, List<String> classes) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new DataFormatException(root, 0, 0, "no such folder (expected one sub-folder of images per class)");
        }
        List<String> folders = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted()
                    .forEach(folders::add);
        }
        if (folders.isEmpty()) {
            throw new DataFormatException(root, 0, 0, "no class folders: expected one sub-folder of images per class");
        }
        List<String> names = classes != null ? List.copyOf(classes) : folders;
        for (String f : folders) {
            if (!names.contains(f)) {
                throw new DataFormatException(root.resolve(f), 0, 0, "'" + f + "' is not one of the " + names.size()
                        + " classes " + names);
            }
        }
        Set<String> suffixes = new TreeSet<>();
        for (String x : ImageIO.getReaderFileSuffixes()) {
            suffixes.add(x.toLowerCase(Locale.ROOT));
        }
        int per = transform.sampleShape().sizeAsInt();
        float[] x = new float[per * 64];
        List<Integer> labels = new ArrayList<>();
        List<Path> skipped = new ArrayList<>();
        for (String f : folders) {
            Path dir = root.resolve(f);
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.sorted().toList();
            }
            int found = 0;
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    skipped.add(p);
                    continue;
                }
                if (Files.isDirectory(p)) {
                    throw new DataFormatException(p, 0, 0, "a folder inside the class folder " + dir
                            + ": expected one folder of image files per class");
                }
                int dot = name.lastIndexOf('.');
                if (dot < 0 || !suffixes.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT))) {
                    skipped.add(p);
                    continue;
                }
                int n = labels.size();
                if ((long) (n + 1) * per > Integer.MAX_VALUE - 8) {
                    throw new DataFormatException(p, 0, 0, "more pixels than one array holds; use a ShardedDataset");
                }
                if ((n + 1) * per > x.length) {
                    x = Arrays.copyOf(x, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(2L * x.length, (long) (n + 1) * per)));
                }
                decode(p, transform, x, n * per);
                labels.add(names.indexOf(f));
                found++;
            }
            if (found == 0) {
                throw new DataFormatException(dir, 0, 0, "no images in the class folder (suffixes read: " + suffixes + ")");
            }
        }
        if (!skipped.isEmpty()) {
            LOG.warn("{}: skipped {} file(s) that are hidden or lack an image suffix, e.g. {}", root, skipped.size(), skipped.get(0));
        }
        int n = labels.size();
        int[] y = labels.stream().mapToInt(Integer::intValue).toArray();
        float[] inputs = x.length == n * per ? x : Arrays.copyOf(x, n * per);
        return new LabelledData(InMemoryDataset.labelled(inputs, transform.sampleShape(), y), names, List.of());
    }

    /** Decodes {@code file} and writes its {@code (C, H, W)} sample into {@code dst} at {@code at}. */
    static void decode(Path file, ImageTransform t, float[] dst, int at) throws IOException {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new DataFormatException(file, 0, 0, "cannot decode the image: " + e.getMessage(), e);
        }
        if (img == null) {
            throw new DataFormatException(file, 0, 0, "not an image ImageIO can decode (its suffix says it is one)");
        }
        int h = img.getHeight();
        int w = img.getWidth();
        int c = t.channels();
        float[] src = new float[c * h * w];
        ColorModel cm = img.getColorModel();
        if (cm.getNumColorComponents() == 1 && !(cm instanceof IndexColorModel)) {
            // Grey: the stored samples as they are (getRGB would pass them through a linear-to-sRGB conversion).
            Raster r = img.getRaster();
            double max = (1L << cm.getComponentSize(0)) - 1;
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int xx = 0; xx < w; xx++) {
                    float v = (float) (row[xx] / max);
                    for (int k = 0; k < c; k++) {
                        src[(k * h + y) * w + xx] = v;
                    }
                }
            }
        } else {
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w); // sRGB, 8 bits a channel
            for (int i = 0; i < h * w; i++) {
                float red = ((argb[i] >> 16) & 0xff) / 255f;
                float green = ((argb[i] >> 8) & 0xff) / 255f;
                float blue = (argb[i] & 0xff) / 255f;
                if (c == 1) {
                    src[i] = 0.299f * red + 0.587f * green + 0.114f * blue;
                } else {
                    src[i] = red;
                    src[h * w + i] = green;
                    src[2 * h * w + i] = blue;
                }
            }
        }
        t.resizeAndNormalize(src, h, w, dst, at);
    }
}
