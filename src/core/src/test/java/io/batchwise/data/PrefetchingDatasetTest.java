package io.batchwise.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The prefetching wrapper serves exactly what the data set would, whatever the requests, from one reader at a time. */
class PrefetchingDatasetTest {
    /** Sample i: inputs {i, 2i, 3i}, label i % 5; records overlapping reads (two threads at once). */
    static final class Slow implements Dataset {
        final InMemoryDataset data;
        final AtomicBoolean busy = new AtomicBoolean();
        final AtomicInteger overlaps = new AtomicInteger();
        final AtomicInteger reads = new AtomicInteger();

        Slow(int n) {
            float[] x = new float[3 * n];
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                x[3 * i] = i;
                x[3 * i + 1] = 2 * i;
                x[3 * i + 2] = 3 * i;
                y[i] = i % 5;
            }
            data = InMemoryDataset.labelled(x, Shape.of(3), y);
        }

        private void enter() {
            if (!busy.compareAndSet(false, true)) {
                overlaps.incrementAndGet();
            }
            reads.incrementAndGet();
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
            enter();
            data.copyInputs(indices, from, count, dst);
            busy.set(false);
        }

        @Override
        public Targets targets(int[] indices, int from, int count) {
            enter();
            Targets t = data.targets(indices, from, count);
            busy.set(false);
            return t;
        }
    }

    private static void check(int[] order, int from, int count, float[] x, Targets t) {
        Targets.Labels y = (Targets.Labels) t;
        assertEquals(count, y.count());
        for (int i = 0; i < count; i++) {
            int s = order[from + i];
            assertArrayEquals(new float[] {s, 2 * s, 3 * s}, new float[] {x[3 * i], x[3 * i + 1], x[3 * i + 2]});
            assertEquals(s % 5, y.label(i));
        }
    }

    @Test
    void aTrainersRequestsAreServedFromTheBackgroundExactly() {
        Slow slow = new Slow(100);
        int[] order = new int[100];
        for (int i = 0; i < 100; i++) {
            order[i] = (i * 37) % 100;
        }
        try (PrefetchingDataset p = PrefetchingDataset.of(slow)) {
            float[] x = new float[3 * 8];
            // Effective batches of 20 in micro-batches of 8: 8, 8, 4 (a shorter tail, a prefix of the guess), ...
            int requests = 0;
            for (int step = 0; step < 5; step++) {
                for (int off = 0; off < 20; off += 8) {
                    int from = step * 20 + off;
                    int m = Math.min(8, 20 - off);
                    p.copyInputs(order, from, m, x);
                    check(order, from, m, x, p.targets(order, from, m));
                    requests++;
                }
            }
            assertEquals(requests, p.hits() + p.misses());
            assertEquals(1, p.misses(), "only the first request is not foreseen");
            // A jump back (another sweep, as exact BatchNorm does) misses, and is still right.
            p.copyInputs(order, 0, 8, x);
            check(order, 0, 8, x, p.targets(order, 0, 8));
            assertEquals(2, p.misses());
            // A new order array (the next epoch) is never confused with the last one's.
            int[] reversed = new int[100];
            for (int i = 0; i < 100; i++) {
                reversed[i] = order[99 - i];
            }
            p.copyInputs(reversed, 8, 8, x);
            check(reversed, 8, 8, x, p.targets(reversed, 8, 8));
            assertEquals(3, p.misses());
        }
        assertEquals(0, slow.overlaps.get(), "the wrapped data set was read by two threads at once");
    }

    @Test
    void closeStopsTheThreadAndLeavesNothingPending() throws InterruptedException {
        Slow slow = new Slow(50);
        int[] order = new int[50];
        java.util.Arrays.setAll(order, i -> i);
        PrefetchingDataset p = PrefetchingDataset.of(slow);
        p.copyInputs(order, 0, 10, new float[30]);
        p.close();
        int reads = slow.reads.get();
        Thread.sleep(20);
        assertEquals(reads, slow.reads.get());
        assertFalse(slow.busy.get());
        // The request (inputs and targets: 2 reads), then the next 10 gathered in the background (2 more), awaited by close.
        assertEquals(4, reads);
    }
}
