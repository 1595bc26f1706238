package io.batchwise.data;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * A data set bigger than memory, kept as shards (files) that are loaded when needed: at most {@code 2 x window}
 * shards are in memory at once.
 *
 * <p><b>Order.</b> A trainer asks for {@link #epochOrder}: the shards in a seeded shuffled order, taken
 * {@code window} at a time; the samples of each such window shuffled among themselves. So an epoch reads each shard
 * once, whole, and mixes samples across {@code window} shards (a larger window mixes more and holds more). The order is
 * a pure function of (seed, epoch, the shard sizes, window): a trainer restored from a checkpoint mid-epoch recomputes
 * it and continues at the same position, exactly as an uninterrupted run would. Random access
 * ({@link #copyInputs} at any index) works too, loading the shards it touches; in index order (evaluation) it reads
 * each shard once.
 *
 * <p>Thread-safe (one lock): a {@link PrefetchingDataset} may load the next shards on its thread.
 */
public final class ShardedDataset implements Dataset {
    /** Loads shard {@code i} whole: it must hold exactly the samples its size says, of the data set's sample shape. */
    @FunctionalInterface
    public interface ShardLoader {
        Dataset load(int shard) throws IOException;
    }

    private final Shape sampleShape;
    private final int[] sizes;
    private final long[] starts; // starts[i]: global index of shard i's first sample; starts[S] = size
    private final int size;
    private final int window;
    private final ShardLoader loader;
    private final List<String> classes;
    private final LinkedHashMap<Integer, Dataset> cache; // LRU by access
    private final int[] one = new int[1];
    private long loads;

    private ShardedDataset(Shape sampleShape, int[] sizes, int window, ShardLoader loader, List<String> classes) {
        if (sizes.length == 0) {
            throw new IllegalArgumentException("no shards");
        }
        if (window < 1) {
            throw new IllegalArgumentException("window " + window + " < 1");
        }
        this.sampleShape = sampleShape;
        this.sizes = sizes.clone();
        this.starts = new long[sizes.length + 1];
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] < 1) {
                throw new IllegalArgumentException("shard " + i + " has " + sizes[i] + " samples");
            }
            starts[i + 1] = starts[i] + sizes[i];
        }
        if (starts[sizes.length] > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(starts[sizes.length] + " samples: more than a Dataset indexes");
        }
        this.size = (int) starts[sizes.length];
        this.window = Math.min(window, sizes.length);
        this.loader = loader;
        this.classes = List.copyOf(classes);
        int capacity = 2 * this.window;
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, Dataset> e) {
                return size() > capacity;
            }
        };
    }

    /**
     * Shards of {@code sizes[i]} samples each, loaded by {@code loader}; {@code window}: shards whose samples are
     * shuffled together (the shuffle buffer).
     */
    public static ShardedDataset of(Shape sampleShape, int[] sizes, int window, ShardLoader loader) {
        return new ShardedDataset(sampleShape, sizes, window, loader, List.of());
    }

    /**
     * CSV/TSV shards, each read by {@code format} and then standardised by {@code standardization} (may be null). The
     * files are read once here, to count their rows, check them and settle the classes (when {@code format} gives
     * none: whole-number labels up to the largest in any shard, else every shard's names sorted), so that a fault is
     * reported before training.
     */
    public static ShardedDataset csv(List<Path> files, CsvFormat format, Standardization standardization, int window)
            throws IOException {
        int[] sizes = new int[files.size()];
        Shape shape = null;
        List<List<String>> perShard = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            LabelledData d = format.read(files.get(i));
            if (shape != null && !shape.equals(d.dataset().sampleShape())) {
                throw new DataFormatException(files.get(i), 0, 0, "samples of shape " + d.dataset().sampleShape()
                        + ", but " + files.get(0) + " has " + shape);
            }
            shape = d.dataset().sampleShape();
            sizes[i] = d.dataset().size();
            perShard.add(d.classes());
        }
        CsvFormat fixed = format.classes().isPresent() ? format : format.withClasses(union(perShard));
        return new ShardedDataset(shape, sizes, window, i -> {
            Dataset d = fixed.read(files.get(i)).dataset();
            return standardization == null ? d : standardization.apply(d);
        }, fixed.classes().orElseThrow());
    }

    /** The classes of all shards: whole numbers {@code 0..max}, or names sorted. */
    static List<String> union(List<List<String>> perShard) {
        boolean whole = true;
        int max = -1;
        TreeSet<String> names = new TreeSet<>();
        for (List<String> c : perShard) {
            names.addAll(c);
            for (int k = 0; k < c.size() && whole; k++) {
                whole = c.get(k).equals(String.valueOf(k));
            }
            max = Math.max(max, c.size() - 1);
        }
        if (!whole) {
            return List.copyOf(names);
        }
        List<String> out = new ArrayList<>();
        for (int k = 0; k <= max; k++) {
            out.add(String.valueOf(k));
        }
        return out;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Shape sampleShape() {
        return sampleShape;
    }

    /** Shards whose samples are shuffled together. */
    public int window() {
        return window;
    }

    /** The class names by label, for CSV shards ({@link #csv}); empty for {@link #of}, whose loader knows them. */
    public List<String> classes() {
        return classes;
    }

    public int shards() {
        return sizes.length;
    }

    /** Shard loads so far (a shard evicted and read again counts again). */
    public synchronized long loads() {
        return loads;
    }

    /** See the class comment: shards shuffled, then samples shuffled within each window of {@code window} shards. */
    @Override
    public int[] epochOrder(long seed, int epoch) {
        int s = sizes.length;
        int[] shardOrder = new int[s];
        Arrays.setAll(shardOrder, i -> i);
        shuffle(shardOrder, s, new SplittableRandom(mix(seed ^ mix(0x5A4D0000L + epoch))));
        int[] order = new int[size];
        int at = 0;
        for (int w = 0; w * window < s; w++) {
            int begin = at;
            for (int k = w * window; k < Math.min(s, (w + 1) * window); k++) {
                int shard = shardOrder[k];
                for (int j = 0; j < sizes[shard]; j++) {
                    order[at++] = (int) starts[shard] + j;
                }
            }
            // Window w of epoch e has its own stream: shuffling one window never shifts another's.
            SplittableRandom r = new SplittableRandom(mix(seed ^ mix(0x5A4D0000L + epoch) ^ mix(0x77000000L + w)));
            shuffleRange(order, begin, at - begin, r);
        }
        return order;
    }

    private static void shuffle(int[] a, int n, SplittableRandom r) {
        shuffleRange(a, 0, n, r);
    }

    private static void shuffleRange(int[] a, int from, int n, SplittableRandom r) {
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[from + i];
            a[from + i] = a[from + j];
            a[from + j] = t;
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public synchronized void copyInputs(int[] indices, int from, int count, float[] dst) {
        int per = sampleShape.sizeAsInt();
        float[] tmp = new float[per];
        for (int i = 0; i < count; i++) {
            int g = indices[from + i];
            int shard = shardOf(g);
            one[0] = (int) (g - starts[shard]);
            shard(shard).copyInputs(one, 0, 1, tmp);
            System.arraycopy(tmp, 0, dst, i * per, per);
        }
    }

    @Override
    public synchronized Targets targets(int[] indices, int from, int count) {
        if (count == 0) {
            return Targets.labels();
        }
        int[] labels = null;
        float[] values = null;
        Shape valueShape = null;
        for (int i = 0; i < count; i++) {
            int g = indices[from + i];
            int shard = shardOf(g);
            one[0] = (int) (g - starts[shard]);
            Targets t = shard(shard).targets(one, 0, 1);
            if (t instanceof Targets.Labels l) {
                labels = labels == null ? new int[count] : labels;
                labels[i] = l.label(0);
            } else {
                Targets.Values v = (Targets.Values) t;
                valueShape = v.sampleShape();
                int per = valueShape.sizeAsInt();
                values = values == null ? new float[count * per] : values;
                for (int k = 0; k < per; k++) {
                    values[i * per + k] = v.value(k);
                }
            }
        }
        return labels != null ? Targets.labels(labels) : Targets.values(valueShape, values);
    }

    private int shardOf(int g) {
        if (g < 0 || g >= size) {
            throw new IndexOutOfBoundsException("sample " + g + " of " + size);
        }
        int at = Arrays.binarySearch(starts, g);
        return at >= 0 ? at : -at - 2;
    }

    private Dataset shard(int i) {
        Dataset d = cache.get(i);
        if (d == null) {
            try {
                d = loader.load(i);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load shard " + i + ": " + e.getMessage(), e);
            }
            if (d.size() != sizes[i] || !d.sampleShape().equals(sampleShape)) {
                throw new IllegalStateException("shard " + i + " holds " + d.size() + " samples of shape " + d.sampleShape()
                        + ", expected " + sizes[i] + " of shape " + sampleShape + " (did it change since it was counted?)");
            }
            loads++;
            cache.put(i, d);
        }
        return d;
    }
}
