package io.batchwise.layer;

/**
 * The counter-based dropout mask every backend uses, so that masks are identical across
 * backends and across micro-batch splits: a SplitMix64 hash of (seed, node, sample, element).
 */
public final class DropoutMask {
    private DropoutMask() {
    }

    /** A per-node stream key from the step seed and the node's name. */
    public static long nodeKey(long stepSeed, String node) {
        return mix(stepSeed ^ mix(node.hashCode() * 0x9E3779B97F4A7C15L));
    }

    /** True when element {@code element} of global sample {@code sample} is kept. */
    public static boolean keep(long nodeKey, long sample, long element, float rate) {
        long h = mix(nodeKey + mix(sample * 0xD1B54A32D192ED03L + element));
        // Top 24 bits as a uniform float in [0, 1).
        double u = (h >>> 40) * 0x1.0p-24;
        return u >= rate;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
