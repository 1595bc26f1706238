package io.batchwise.train;

import java.util.SplittableRandom;

/**
 * The order in which an epoch visits the training samples, a pure function of (seed, epoch) so that a resumed run
 * and every worker of a distributed one see the same permutation: the data set's own order when it has one
 * ({@link Dataset#epochOrder}, e.g. shard by shard), else a seeded Fisher-Yates shuffle; the identity without shuffling.
 */
final class EpochOrder {
    private final long seed;
    private final boolean shuffle;

    EpochOrder(long seed, boolean shuffle) {
        this.seed = seed;
        this.shuffle = shuffle;
    }

    /** The order of epoch {@code ep} over {@code data}. */
    int[] of(Dataset data, int ep) {
        int n = data.size();
        int[] own = shuffle ? data.epochOrder(seed, ep) : null;
        if (own != null && own.length != n) {
            throw new IllegalStateException("the data set's epoch order has " + own.length + " samples, not " + n);
        }
        return own != null ? own : of(n, ep);
    }

    /** The order of epoch {@code ep} over {@code n} samples without an order of their own. */
    int[] of(int n, int ep) {
        int[] o = identity(n);
        if (shuffle) {
            SplittableRandom r = new SplittableRandom(Trainer.mix(seed ^ Trainer.mix(0x5EED0000L + ep)));
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = o[i];
                o[i] = o[j];
                o[j] = t;
            }
        }
        return o;
    }

    static int[] identity(int n) {
        int[] o = new int[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
        }
        return o;
    }
}
