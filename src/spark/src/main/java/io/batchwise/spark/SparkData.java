package io.batchwise.spark;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;

/**
 * Training data on a Spark cluster: {@code W} shards, each the samples whose global index {@code g} has
 * {@code g mod W} equal to the shard's partition, cached in executor memory (MEMORY_ONLY) for the whole run.
 * The global index is the sample's position in the source (an RDD's order from {@code zipWithIndex}, or a Batchwise
 * {@link Dataset}'s index), so the epoch's seeded permutation of global indices picks the same samples as a
 * single-process run with the same seed. Only labelled (classification) data.
 *
 * <p>Life cycle: made (and cached) by {@link #of} or {@link #parallelize}, which run one job to build the shards and
 * check every sample's shape; {@link #unpersist()} frees the executors' memory.
 */
public final class SparkData {
    private static final long SLICE_BYTES = 900 * 1024; // under Spark's 1000 KiB warning threshold for a task
    private final JavaRDD<Shard> shards;
    private final Shape sampleShape;
    private final int[] partitionSizes;
    private final int size;

    private SparkData(JavaRDD<Shard> shards, Shape sampleShape, int[] partitionSizes) {
        this.shards = shards;
        this.sampleShape = sampleShape;
        this.partitionSizes = partitionSizes;
        long n = 0;
        for (int s : partitionSizes) {
            n += s;
        }
        this.size = Math.toIntExact(n);
    }

    /**
     * Shards {@code samples} into {@code partitions} partitions and caches them. Every sample must have
     * {@code sampleShape}: a partition holding one that does not fails here, with the partition, the sample and both
     * shapes in the message.
     */
    public static SparkData of(JavaRDD<Sample> samples, Shape sampleShape, int partitions) {
        Objects.requireNonNull(samples, "samples");
        Objects.requireNonNull(sampleShape, "sampleShape");
        if (partitions < 1) {
            throw new IllegalArgumentException("need at least one partition, got " + partitions);
        }
        int[] shape = sampleShape.dims();
        JavaRDD<Shard> shards = samples.zipWithIndex()
                .mapToPair(t -> new scala.Tuple2<>(t._2(), t._1()))  // (global index, sample)
                .partitionBy(new ModuloPartitioner(partitions))
                .mapPartitionsWithIndex((p, it) -> Collections.singletonList(Shard.build(p, it, shape)).iterator(), true);
        shards.persist(StorageLevel.MEMORY_ONLY());
        List<Integer> sizes;
        try {
            sizes = shards.map(Shard::size).collect(); // builds and caches the shards; one size per partition, in order
        } catch (Exception e) { // a task's failure arrives as SparkException, which Java sees as checked
            shards.unpersist(false);
            throw SparkTrainer.workerFailure("cannot build the data's shards", e);
        }
        int[] s = new int[sizes.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = sizes.get(i);
        }
        return new SparkData(shards, sampleShape, s);
    }

    /**
     * A Batchwise labelled {@link Dataset} (e.g. {@link io.batchwise.train.InMemoryDataset}) as Spark data: the
     * samples are copied to the driver's memory once, then sent to the executors. For data that already lives on the
     * cluster, build an {@code RDD<Sample>} there and use {@link #of}.
     */
    public static SparkData parallelize(JavaSparkContext sc, Dataset data, int partitions) {
        int n = data.size();
        int per = data.sampleShape().sizeAsInt();
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        if (!(data.targets(all, 0, n) instanceof Targets.Labels labels)) {
            throw new IllegalArgumentException("Spark training takes labelled (classification) data; this dataset has"
                    + " real-valued targets");
        }
        float[] x = new float[Math.multiplyExact(n, per)];
        data.copyInputs(all, 0, n, x);
        List<Sample> samples = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            samples.add(Sample.of(data.sampleShape(), java.util.Arrays.copyOfRange(x, i * per, (i + 1) * per), labels.label(i)));
        }
        // Slices of at most ~1 MB: each slice travels inside its task (through the RPC channel, whose messages are
        // limited to spark.rpc.message.maxSize, 128 MiB by default); the shuffle of SparkData.of then sends the samples
        // to their partitions through the block manager.
        long bytes = (long) n * per * Float.BYTES;
        int slices = (int) Math.max(partitions, Math.min(n, (bytes + SLICE_BYTES - 1) / SLICE_BYTES));
        return of(sc.parallelize(samples, slices), data.sampleShape(), partitions);
    }

    /** Samples in all. */
    public int size() {
        return size;
    }

    public Shape sampleShape() {
        return sampleShape;
    }

    /** Shards (partitions): at most this many workers compute a step. */
    public int partitions() {
        return partitionSizes.length;
    }

    /** Samples in each partition, by partition index. */
    public int[] partitionSizes() {
        return partitionSizes.clone();
    }

    JavaRDD<Shard> shards() {
        return shards;
    }

    /** Frees the cached shards on the executors. */
    public void unpersist() {
        shards.unpersist(false);
    }

    /** Global index {@code g} goes to partition {@code g mod W}: balanced, and the same on every run. */
    static final class ModuloPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int partitions;

        ModuloPartitioner(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return (int) Math.floorMod((Long) key, (long) partitions);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ModuloPartitioner m && m.partitions == partitions;
        }

        @Override
        public int hashCode() {
            return partitions;
        }
    }
}
