package io.batchwise.data;

import io.batchwise.Shape;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Wraps a data set so that the next micro-batch is gathered on a background thread while the current one computes.
 *
 * <p>A trainer reads an epoch as consecutive ranges of one order array: after serving {@code indices[from, from + m)}
 * this gathers {@code indices[from + m, from + m + M)} (M: the largest request seen) into its own buffer. A request that
 * is that range or a prefix of it is served from the buffer (one bulk copy into the executor's input); any other
 * request waits for the background gather and is then served directly, so the result never depends on whether a
 * guess was right. The wrapped data set is only ever read by one thread at a time.
 *
 * <p>Life cycle: {@link #close} stops the thread (a daemon, so a forgotten close does not keep the JVM alive).
 */
public final class PrefetchingDataset implements Dataset, AutoCloseable {
    private final Dataset data;
    private final int per;
    private final ExecutorService thread;
    private Future<Batch> pending;
    private Batch current;
    private float[] spare = new float[0];
    private int largest;
    private long hits;
    private long misses;

    /** Samples {@code indices[from, from + count)}: their inputs (sample-major) and targets. */
    private record Batch(int[] indices, int from, int count, float[] inputs, Targets targets) {
        boolean serves(int[] idx, int f, int c) {
            return indices == idx && from == f && c <= count;
        }
    }

    private PrefetchingDataset(Dataset data) {
        this.data = data;
        this.per = data.sampleShape().sizeAsInt();
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "batchwise-prefetch");
            t.setDaemon(true);
            return t;
        });
    }

    public static PrefetchingDataset of(Dataset data) {
        return new PrefetchingDataset(data);
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
    public int[] epochOrder(long seed, int epoch) {
        return data.epochOrder(seed, epoch);
    }

    @Override
    public synchronized void copyInputs(int[] indices, int from, int count, float[] dst) {
        Batch b = take(indices, from, count);
        System.arraycopy(b.inputs, 0, dst, 0, count * per);
        prefetchAfter(b, count);
    }

    @Override
    public synchronized void copyInputs(int[] indices, int from, int count, Tensor dst, float[] staging) {
        Batch b = take(indices, from, count);
        dst.write(0, b.inputs, 0, count * per);
        prefetchAfter(b, count);
    }

    @Override
    public synchronized Targets targets(int[] indices, int from, int count) {
        if (current != null && current.serves(indices, from, count)) {
            return count == current.count ? current.targets : current.targets.slice(0, count);
        }
        settle();
        return data.targets(indices, from, count);
    }

    /** Requests served from a background gather, and those that were not. */
    synchronized long hits() {
        return hits;
    }

    synchronized long misses() {
        return misses;
    }

    /** The batch for this request: the background gather when it covers it, else gathered here. */
    private Batch take(int[] indices, int from, int count) {
        largest = Math.max(largest, count);
        Batch b = settle();
        if (b != null && b.serves(indices, from, count)) {
            hits++;
        } else {
            misses++;
            b = gather(indices, from, count, b != null && b.inputs.length > spare.length ? b.inputs : spare);
            spare = b.inputs;
        }
        current = b;
        return b;
    }

    /** Waits for the background gather, if any, and returns it (null if none, or if it failed: then redone here). */
    private Batch settle() {
        Future<Batch> f = pending;
        pending = null;
        if (f == null) {
            return null;
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            return null; // a guessed range that failed; a real request for it fails again, in the caller's thread
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the prefetch thread", e);
        }
    }

    private void prefetchAfter(Batch b, int served) {
        int next = b.from + served;
        int m = Math.min(largest, b.indices.length - next);
        if (m <= 0 || thread.isShutdown()) {
            return;
        }
        // The buffer just copied out is free again (the current batch keeps only its targets).
        float[] buffer = b.inputs;
        current = new Batch(b.indices, b.from, b.count, null, b.targets);
        int[] indices = b.indices;
        pending = thread.submit(() -> gather(indices, next, m, buffer));
    }

    private Batch gather(int[] indices, int from, int count, float[] buffer) {
        float[] x = buffer != null && buffer.length >= count * per ? buffer : new float[count * per];
        data.copyInputs(indices, from, count, x);
        return new Batch(indices, from, count, x, data.targets(indices, from, count));
    }

    @Override
    public synchronized void close() {
        settle();
        thread.shutdownNow();
    }
}
