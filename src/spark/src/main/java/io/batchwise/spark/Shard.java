package io.batchwise.spark;

import io.batchwise.Shape;
import io.batchwise.train.InMemoryDataset;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import scala.Tuple2;

/**
 * One partition's samples, cached in memory on the executor that holds the partition: a Batchwise dataset of its
 * samples sorted by their global index, and that index, so a step's global sample numbers map to local ones.
 * Serializable only so that Spark could spill or ship it; the cache is MEMORY_ONLY, deserialized.
 */
final class Shard implements Serializable {
    private static final long serialVersionUID = 1L;

    final int partition;
    private final int[] globals;  // (n) global sample indices, ascending
    private final int[] shape;    // per-sample input shape
    private final float[] inputs; // (n, shape...) in the order of globals
    private final int[] labels;   // (n)
    private transient InMemoryDataset dataset;

    private Shard(int partition, int[] globals, int[] shape, float[] inputs, int[] labels) {
        this.partition = partition;
        this.globals = globals;
        this.shape = shape;
        this.inputs = inputs;
        this.labels = labels;
    }

    /**
     * The shard of partition {@code partition} from its (global index, sample) pairs, in any order. Every sample must
     * have {@code shape}; the first that does not is named in the error, with both shapes.
     */
    static Shard build(int partition, Iterator<Tuple2<Long, Sample>> samples, int[] shape) {
        List<Tuple2<Long, Sample>> all = new ArrayList<>();
        samples.forEachRemaining(all::add);
        all.sort(Comparator.comparingLong(Tuple2::_1));
        int per = Math.toIntExact(Shape.of(shape).size());
        int n = all.size();
        int[] globals = new int[n];
        float[] inputs = new float[Math.multiplyExact(n, per)];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            Tuple2<Long, Sample> t = all.get(i);
            Sample s = t._2();
            if (!Arrays.equals(s.shape(), shape)) {
                throw new IllegalArgumentException("partition " + partition + ": sample " + t._1() + " has shape "
                        + Shape.of(s.shape()) + " but the data's samples have shape " + Shape.of(shape));
            }
            globals[i] = Math.toIntExact(t._1());
            System.arraycopy(s.features(), 0, inputs, i * per, per);
            labels[i] = s.label();
        }
        return new Shard(partition, globals, shape.clone(), inputs, labels);
    }

    int size() {
        return globals.length;
    }

    /** This shard's samples as a Batchwise dataset, indexed by local position (built once per executor). */
    synchronized InMemoryDataset dataset() {
        if (dataset == null) {
            dataset = InMemoryDataset.labelled(inputs, Shape.of(shape), labels);
        }
        return dataset;
    }

    /**
     * This worker's share of a step whose samples are {@code batch} (global indices in batch order): {@code local[i]},
     * the local position of each sample of the batch that this shard holds, in batch order (so its micro-batches take
     * the samples in the order a single process would), and {@code positions[i]}, that sample's position in the batch
     * (what its dropout mask is keyed by).
     */
    record Share(int[] local, int[] positions) {
        int size() {
            return local.length;
        }
    }

    Share share(int[] batch) {
        int[] local = new int[batch.length];
        int[] positions = new int[batch.length];
        int m = 0;
        for (int j = 0; j < batch.length; j++) {
            int i = Arrays.binarySearch(globals, batch[j]);
            if (i >= 0) {
                local[m] = i;
                positions[m++] = j;
            }
        }
        return new Share(Arrays.copyOf(local, m), Arrays.copyOf(positions, m));
    }
}
