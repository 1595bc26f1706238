package io.batchwise.backend;

import java.nio.FloatBuffer;

/**
 * {@link VectorOps} in Java: in place over {@link HostTensor#floatView()} where a tensor has one, else
 * through {@link Tensor#read}/{@link Tensor#write} in chunks of {@value #CHUNK} elements (device
 * tensors, float64 tensors), so no copy of a whole parameter vector is ever made.
 */
final class HostVectorOps implements VectorOps {
    static final HostVectorOps INSTANCE = new HostVectorOps();
    static final int CHUNK = 1 << 14;

    private HostVectorOps() {
    }

    @Override
    public void axpby(Tensor y, double a, Tensor x, double b) {
        long n = sameSize(y, x);
        FloatBuffer fy = view(y);
        FloatBuffer fx = x == y ? fy : view(x);
        if (fy != null && fx != null) {
            for (int i = 0; i < n; i++) {
                fy.put(i, (float) (a * fx.get(i) + b * fy.get(i)));
            }
            return;
        }
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
            y.write(off, cy, 0, len);
        }
    }

    @Override
    public double sumOfSquares(Tensor x) {
        long n = x.size();
        FloatBuffer f = view(x);
        double sum = 0;
        if (f != null) {
            for (int i = 0; i < n; i++) {
                double v = f.get(i);
                sum += v * v;
            }
            return sum;
        }
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

    static FloatBuffer view(Tensor t) {
        return t instanceof HostTensor h ? h.floatView() : null;
    }

    static long sameSize(Tensor y, Tensor x) {
        if (y.size() != x.size()) {
            throw new IllegalArgumentException("axpby over tensors of " + y.size() + " and " + x.size() + " elements");
        }
        return y.size();
    }
}
