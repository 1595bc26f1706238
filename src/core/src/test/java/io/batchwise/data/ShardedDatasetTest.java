package io.batchwise.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sharded data set's epoch order (a shard-local permutation, a pure function of seed and epoch) and its reads. */
class ShardedDatasetTest {
    static final int[] SIZES = {5, 7, 3, 6, 4, 5};

    @TempDir
    Path dir;

    /** Sample g (global) has input {g, -g} and label g % 3. */
    static ShardedDataset sharded(int window, List<Integer> loaded) {
        int[] starts = new int[SIZES.length];
        for (int i = 1; i < SIZES.length; i++) {
            starts[i] = starts[i - 1] + SIZES[i - 1];
        }
        return ShardedDataset.of(Shape.of(2), SIZES, window, i -> {
            loaded.add(i);
            float[] x = new float[SIZES[i] * 2];
            int[] y = new int[SIZES[i]];
            for (int j = 0; j < SIZES[i]; j++) {
                x[2 * j] = starts[i] + j;
                x[2 * j + 1] = -(starts[i] + j);
                y[j] = (starts[i] + j) % 3;
            }
            return InMemoryDataset.labelled(x, Shape.of(2), y);
        });
    }

    private static int shardOf(int g) {
        int s = 0;
        while (g >= SIZES[s]) {
            g -= SIZES[s++];
        }
        return s;
    }

    @Test
    void theOrderIsAPermutationLocalToWindowsAndAPureFunctionOfSeedAndEpoch() {
        ShardedDataset d = sharded(2, new ArrayList<>());
        assertEquals(30, d.size());
        int[] o = d.epochOrder(7, 0);
        assertArrayEquals(o, sharded(2, new ArrayList<>()).epochOrder(7, 0)); // another instance, same answer
        int[] sorted = o.clone();
        Arrays.sort(sorted);
        int[] all = new int[30];
        Arrays.setAll(all, i -> i);
        assertArrayEquals(all, sorted);
        assertFalse(Arrays.equals(o, d.epochOrder(7, 1)));
        assertFalse(Arrays.equals(o, d.epochOrder(8, 0)));
        // Windows of 2 shards: walking the order, each window's samples come from exactly its two shards, each whole.
        int at = 0;
        Set<Integer> seen = new HashSet<>();
        for (int w = 0; w < 3; w++) {
            Set<Integer> shards = new HashSet<>();
            shards.add(shardOf(o[at]));
            int end = at;
            // The window ends when both shards' samples are all out.
            while (end < 30 && (shards.size() < 2 || shards.contains(shardOf(o[end])))) {
                shards.add(shardOf(o[end]));
                end++;
                int total = shards.stream().mapToInt(s -> SIZES[s]).sum();
                if (shards.size() == 2 && end - at == total) {
                    break;
                }
            }
            assertEquals(2, shards.size(), "window " + w);
            assertEquals(shards.stream().mapToInt(s -> SIZES[s]).sum(), end - at, "window " + w + " holds its shards whole");
            for (int s : shards) {
                assertTrue(seen.add(s), "shard " + s + " in two windows");
            }
            at = end;
        }
        assertEquals(30, at);
        // Samples are mixed within a window: not every window is in shard-then-index order.
        boolean mixed = false;
        for (int i = 1; i < 30; i++) {
            mixed |= o[i] != o[i - 1] + 1;
        }
        assertTrue(mixed);
    }

    @Test
    void anEpochInItsOrderLoadsEachShardOnceAndReadsTheRightSamples() {
        List<Integer> loaded = new ArrayList<>();
        ShardedDataset d = sharded(2, loaded);
        int[] o = d.epochOrder(3, 5);
        float[] x = new float[4 * 2];
        for (int from = 0; from < 30; from += 4) {
            int m = Math.min(4, 30 - from);
            d.copyInputs(o, from, m, x);
            Targets.Labels y = (Targets.Labels) d.targets(o, from, m);
            for (int i = 0; i < m; i++) {
                assertEquals(o[from + i], x[2 * i]);
                assertEquals(-o[from + i], x[2 * i + 1]);
                assertEquals(o[from + i] % 3, y.label(i));
            }
        }
        assertEquals(6, loaded.size(), "loads " + loaded);
        assertEquals(6, new HashSet<>(loaded).size());
        assertEquals(6, d.loads());
        // The same walk in a full shuffle of all samples thrashes the cache of 2 x 2 shards.
        int[] full = new int[30];
        Arrays.setAll(full, i -> (i * 7) % 30); // a stride that jumps between shards
        loaded.clear();
        for (int from = 0; from < 30; from += 4) {
            d.copyInputs(full, from, Math.min(4, 30 - from), x);
        }
        assertTrue(loaded.size() > 6, "loads " + loaded);
    }

    @Test
    void aWindowAsLargeAsTheDataShufflesEverything() {
        ShardedDataset d = sharded(100, new ArrayList<>());
        assertEquals(6, d.window());
        int[] o = d.epochOrder(1, 0);
        // With one window, the first six positions are very unlikely to be from one shard: check they are not.
        Set<Integer> shards = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            shards.add(shardOf(o[i]));
        }
        assertTrue(shards.size() > 1);
    }

    @Test
    void csvShardsAgreeOnClassesAndAreCheckedWhenOpened() throws IOException {
        Path a = dir.resolve("a.csv");
        Path b = dir.resolve("b.csv");
        Files.writeString(a, "x,y\n1,cat\n2,dog\n");
        Files.writeString(b, "x,y\n3,ant\n");
        ShardedDataset d = ShardedDataset.csv(List.of(a, b), CsvFormat.defaults(), null, 1);
        assertEquals(3, d.size());
        int[] idx = {0, 1, 2};
        Targets.Labels y = (Targets.Labels) d.targets(idx, 0, 3);
        // Classes across shards, sorted: ant 0, cat 1, dog 2.
        assertEquals(List.of("ant", "cat", "dog"), d.classes());
        assertArrayEquals(new int[] {1, 2, 0}, new int[] {y.label(0), y.label(1), y.label(2)});
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "x,y\n1,cat\n,dog\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> ShardedDataset.csv(List.of(a, bad), CsvFormat.defaults(), null, 1));
        assertEquals(3, e.line());
        // A shard that changed after it was counted is refused when loaded.
        ShardedDataset counted = ShardedDataset.csv(List.of(a, b), CsvFormat.defaults(), null, 1);
        Files.writeString(b, "x,y\n3,ant\n4,ant\n");
        IllegalStateException changed = assertThrows(IllegalStateException.class, () -> counted.copyInputs(new int[] {2}, 0, 1, new float[1]));
        assertTrue(changed.getMessage().contains("shard 1 holds 2 samples"), changed.getMessage());
        Files.delete(b);
        ShardedDataset again = ShardedDataset.csv(List.of(a), CsvFormat.defaults(), null, 1);
        assertEquals(2, again.size());
        ShardedDataset gone = ShardedDataset.of(Shape.of(1), new int[] {1}, 1, i -> CsvFormat.defaults().read(b).dataset());
        assertThrows(UncheckedIOException.class, () -> gone.copyInputs(new int[] {0}, 0, 1, new float[1]));
    }

    @Test
    void theClassesOfShardsUnite() {
        assertEquals(List.of("0", "1", "2"), ShardedDataset.union(List.of(List.of("0", "1"), List.of("0", "1", "2"))));
        assertEquals(List.of("a", "b", "c"), ShardedDataset.union(List.of(List.of("b", "c"), List.of("a"))));
    }

    /** Dataset is the trainer's interface: a sharded set keeps its order when wrapped for prefetching. */
    @Test
    void prefetchingKeepsTheOrder() {
        ShardedDataset d = sharded(2, new ArrayList<>());
        try (PrefetchingDataset p = PrefetchingDataset.of(d)) {
            assertArrayEquals(d.epochOrder(9, 2), p.epochOrder(9, 2));
        }
        Dataset plain = InMemoryDataset.labelled(new float[2], Shape.of(1), new int[] {0, 0});
        assertEquals(null, plain.epochOrder(1, 0));
    }
}
