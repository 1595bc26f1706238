package io.batchwise.train;

import io.batchwise.backend.HostTensor;
import io.batchwise.backend.Tensor;
import java.nio.FloatBuffer;

/** Host access for the fused optimizer rules: in-place views, or bounded chunks for other tensors. */
final class HostChunk {
    static final int CHUNK = 1 << 14;

    private HostChunk() {
    }

    interface Body {
        void run(FloatBuffer w, FloatBuffer g, FloatBuffer[] s, int len);
    }

    static FloatBuffer view(Tensor t) {
        return t instanceof HostTensor h ? h.floatView() : null;
    }

    /**
     * Runs {@code body} over consecutive chunks of {@code w}, {@code g} and {@code s}, writing {@code w}
     * and {@code s} back after each: device tensors and float64 tensors, without a copy of the whole vector.
     */
    static void forEach(long n, Tensor w, Tensor g, Tensor[] s, Body body) {
        int c = (int) Math.min(n, CHUNK);
        float[] cw = new float[c];
        float[] cg = new float[c];
        float[][] cs = new float[s.length][c];
        FloatBuffer[] bs = new FloatBuffer[s.length];
        for (int k = 0; k < s.length; k++) {
            bs[k] = FloatBuffer.wrap(cs[k]);
        }
        for (long off = 0; off < n; off += c) {
            int len = (int) Math.min(c, n - off);
            w.read(off, cw, 0, len);
            g.read(off, cg, 0, len);
            for (int k = 0; k < s.length; k++) {
                s[k].read(off, cs[k], 0, len);
            }
            body.run(FloatBuffer.wrap(cw), FloatBuffer.wrap(cg), bs, len);
            w.write(off, cw, 0, len);
            for (int k = 0; k < s.length; k++) {
                s[k].write(off, cs[k], 0, len);
            }
        }
    }
}
