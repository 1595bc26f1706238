package io.batchwise.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.data.PrefetchingDataset;
import io.batchwise.data.ShardedDataset;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.reference.ReferenceBackend;
import io.batchwise.train.BatchSize;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training on a {@link ShardedDataset}: the trainer visits the data set's own epoch order, reads each shard once per
 * epoch, and a run stopped mid-epoch and restored from its checkpoint ends bit for bit where an uninterrupted one does;
 * with a {@link PrefetchingDataset} in between too.
 */
class ShardedTrainingTest {
    private static final ReferenceBackend BACKEND = new ReferenceBackend();
    private static final Graph G = TrainingSuite.mlp(); // (20) -> 4 classes
    private static final InMemoryDataset ALL = TrainingSuite.data(Shape.of(20), 103, 5);
    private static final int[] SIZES = {20, 25, 18, 22, 18}; // 103; B = 16 in micro-batches of 8: 7 steps per epoch

    @TempDir
    Path dir;

    /** Shards cut from ALL; {@code loads} hears each load. */
    private static ShardedDataset sharded(List<Integer> loads) {
        return ShardedDataset.of(Shape.of(20), SIZES, 2, i -> {
            loads.add(i);
            int start = Arrays.stream(SIZES, 0, i).sum();
            int[] idx = new int[SIZES[i]];
            Arrays.setAll(idx, j -> start + j);
            float[] x = new float[SIZES[i] * 20];
            ALL.copyInputs(idx, 0, idx.length, x);
            Targets.Labels l = (Targets.Labels) ALL.targets(idx, 0, idx.length);
            int[] y = new int[idx.length];
            Arrays.setAll(y, l::label);
            return InMemoryDataset.labelled(x, Shape.of(20), y);
        });
    }

    private static Trainer trainer() {
        return Trainer.builder(G, BACKEND).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                .batch(BatchSize.mini(16)).microBatch(8).seed(11).build();
    }

    /** Records the sample indices the trainer reads, in order. */
    private static final class Recording implements Dataset {
        final Dataset data;
        final List<Integer> read = new ArrayList<>();

        Recording(Dataset data) {
            this.data = data;
        }

        @Override
        public int size() {
            return data.size();
        }

        @Override
        public Shape sampleShape() {
            return data.sampleShape();
        }

        @Override
        public void copyInputs(int[] indices, int from, int count, float[] dst) {
            for (int i = 0; i < count; i++) {
                read.add(indices[from + i]);
            }
            data.copyInputs(indices, from, count, dst);
        }

        @Override
        public Targets targets(int[] indices, int from, int count) {
            return data.targets(indices, from, count);
        }

        @Override
        public int[] epochOrder(long seed, int epoch) {
            return data.epochOrder(seed, epoch);
        }
    }

    @Test
    void theTrainerVisitsTheShardLocalOrderAndLoadsEachShardOncePerEpoch() {
        List<Integer> loads = new ArrayList<>();
        ShardedDataset d = sharded(loads);
        Recording r = new Recording(d);
        try (Trainer t = trainer()) {
            t.fit(r, 1, Long.MAX_VALUE);
            // 5 shards, a cache of 2 windows of 2 shards: each read once in the epoch.
            assertEquals(5, loads.size(), "loads " + loads);
            assertEquals(5, loads.stream().distinct().count());
            t.fit(r, 2, Long.MAX_VALUE);
            assertTrue(loads.size() <= 10, "loads " + loads);
        }
        int[] expected = new int[2 * 103];
        System.arraycopy(d.epochOrder(11, 0), 0, expected, 0, 103);
        System.arraycopy(d.epochOrder(11, 1), 0, expected, 103, 103);
        assertArrayEquals(expected, r.read.stream().mapToInt(Integer::intValue).toArray());
        assertFalse(Arrays.equals(d.epochOrder(11, 0), d.epochOrder(11, 1)));
    }

    @Test
    void aRunStoppedMidEpochResumesExactly() throws IOException {
        float[] whole;
        try (Trainer t = trainer()) {
            t.fit(sharded(new ArrayList<>()), 3, Long.MAX_VALUE);
            whole = t.parameters().logicalValues();
        }
        Path ckpt = dir.resolve("run.ckpt");
        try (Trainer t = trainer()) {
            t.fit(sharded(new ArrayList<>()), 3, 10); // step 10: the 3rd step of epoch 2
            assertEquals(1, t.epoch());
            t.save(ckpt);
        }
        try (Trainer t = trainer()) { // a new process: new data set, same files
            t.restore(ckpt);
            t.fit(sharded(new ArrayList<>()), 3, Long.MAX_VALUE);
            assertEquals(21, t.step());
            assertArrayEquals(whole, t.parameters().logicalValues());
        }
        // And through the prefetching wrapper: the same weights, bit for bit.
        try (Trainer t = trainer(); PrefetchingDataset p = PrefetchingDataset.of(sharded(new ArrayList<>()))) {
            t.fit(p, 3, Long.MAX_VALUE);
            assertArrayEquals(whole, t.parameters().logicalValues());
        }
        // The sharded order is not the trainer's own shuffle: training on the same samples in memory ends elsewhere.
        try (Trainer t = trainer()) {
            t.fit(ALL, 3, Long.MAX_VALUE);
            assertFalse(Arrays.equals(whole, t.parameters().logicalValues()));
        }
    }
}
