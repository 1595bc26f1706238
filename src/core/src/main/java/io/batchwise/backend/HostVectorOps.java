package io.batchwise.backend;

/**
 * {@link VectorOps} in Java, through {@link Tensor#read}/{@link Tensor#write} in chunks of
 * {@value #CHUNK} elements (bulk copies: tight array loops, which the JIT compiles far better than
 * element access to native memory), so no copy of a whole parameter vector is ever held.
 */
final class HostVectorOps implements VectorOps {
    static final HostVectorOps INSTANCE = new HostVectorOps();
    static final int CHUNK = 1 << 14;

    private HostVectorOps() {
    }

    @Override
    public void axpby(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b, false);
    }

    @Override
    public void axpbyFlushed(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b, true);
    }

    private static void axpby(Tensor y, double a, Tensor x, double b, boolean flush) {
        long n = sameSize(y, x);
        float[] cy = new float[(int) Math.min(n, CHUNK)];
        float[] cx = x == y ? cy : new float[cy.length];
        for (long off = 0; off < n; off += cy.length) {
            int len = (int) Math.min(cy.length, n - off);
            y.read(off, cy, 0, len);
            if (x != y) {
                x.read(off, cx, 0, len);
            }
            for (int i = 0; i < len; i++) {
                cy[i] = (float) (a * cx[i] + b * cy[i]);
            }
            if (flush) {
                for (int i = 0; i < len; i++) {
                    cy[i] = (cy[i] + FLUSH) - FLUSH;
                }
            }
            y.write(off, cy, 0, len);
        }
    }

    @Override
    public double sumOfSquares(Tensor x) {
        long n = x.size();
        double sum = 0;
        float[] c = new float[(int) Math.min(n, CHUNK)];
        for (long off = 0; off < n; off += c.length) {
            int len = (int) Math.min(c.length, n - off);
            x.read(off, c, 0, len);
            for (int i = 0; i < len; i++) {
                sum += (double) c[i] * c[i];
            }
        }
        return sum;
    }

    static long sameSize(Tensor y, Tensor x) {
        if (y.size() != x.size()) {
            throw new IllegalArgumentException("axpby over tensors of " + y.size() + " and " + x.size() + " elements");
        }
        return y.size();
    }
}
