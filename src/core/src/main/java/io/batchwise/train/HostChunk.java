package io.batchwise.train;

import io.batchwise.backend.Tensor;

/** Chunked host access for the fused optimizer rules: bounded staging, never a copy of a whole vector. */
final class HostChunk {
    /** 16 Ki elements: four staged vectors (weights, gradients, two state slots) fit in a 256 KiB L2. */
    static final int CHUNK = 1 << 14;

    private final float[] cw;
    private final float[] cg;
    private final float[][] cs;

    /** Staging for vectors of {@code n} elements and {@code slots} state slots, allocated once. */
    HostChunk(long n, int slots) {
        int c = (int) Math.max(1, Math.min(n, CHUNK));
        cw = new float[c];
        cg = new float[c];
        cs = new float[slots][c];
    }

    interface Body {
        void run(float[] w, float[] g, float[][] s, int len);
    }

    /** Runs {@code body} over consecutive chunks of {@code w}, {@code g} and {@code s}, writing {@code w} and {@code s} back. */
    void forEach(long n, Tensor w, Tensor g, Tensor[] s, Body body) {
        int c = cw.length;
        for (long off = 0; off < n; off += c) {
            int len = (int) Math.min(c, n - off);
            w.read(off, cw, 0, len);
            g.read(off, cg, 0, len);
            for (int k = 0; k < s.length; k++) {
                s[k].read(off, cs[k], 0, len);
            }
            body.run(cw, cg, cs, len);
            w.write(off, cw, 0, len);
            for (int k = 0; k < s.length; k++) {
                s[k].write(off, cs[k], 0, len);
            }
        }
    }
}
