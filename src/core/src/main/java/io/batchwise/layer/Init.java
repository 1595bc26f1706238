package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.SplittableRandom;

/**
 * Seeded initialisers. Fans follow PyTorch's convention: for a weight {@code (out, in, k...)},
 * fanIn = in * prod(k) and fanOut = out * prod(k); a rank-1 tensor has fanIn = fanOut = its size.
 */
public sealed interface Init {

    /** Fills {@code dst} for a tensor of {@code shape} using {@code rng}. */
    void fill(Shape shape, float[] dst, SplittableRandom rng);

    /** He/Kaiming normal for ReLU: N(0, 2 / fanIn). */
    record HeNormal() implements Init {
        public void fill(Shape s, float[] dst, SplittableRandom rng) {
            normal(dst, Math.sqrt(2.0 / fanIn(s)), rng);
        }
    }

    /** He/Kaiming uniform for ReLU: U(-a, a), a = sqrt(6 / fanIn). */
    record HeUniform() implements Init {
        public void fill(Shape s, float[] dst, SplittableRandom rng) {
            uniform(dst, Math.sqrt(6.0 / fanIn(s)), rng);
        }
    }

    /** Glorot/Xavier normal: N(0, 2 / (fanIn + fanOut)). */
    record GlorotNormal() implements Init {
        public void fill(Shape s, float[] dst, SplittableRandom rng) {
            normal(dst, Math.sqrt(2.0 / (fanIn(s) + fanOut(s))), rng);
        }
    }

    /** Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)). */
    record GlorotUniform() implements Init {
        public void fill(Shape s, float[] dst, SplittableRandom rng) {
            uniform(dst, Math.sqrt(6.0 / (fanIn(s) + fanOut(s))), rng);
        }
    }

    record Zeros() implements Init {
        public void fill(Shape s, float[] dst, SplittableRandom rng) {
            java.util.Arrays.fill(dst, 0f);
        }
    }

    record Constant(float value) implements Init {
        public void fill(Shape s, float[] dst, SplittableRandom rng) {
            java.util.Arrays.fill(dst, value);
        }
    }

    static Init heNormal() { return new HeNormal(); }
    static Init heUniform() { return new HeUniform(); }
    static Init glorotNormal() { return new GlorotNormal(); }
    static Init glorotUniform() { return new GlorotUniform(); }
    static Init zeros() { return new Zeros(); }
    static Init constant(float v) { return new Constant(v); }

    static long fanIn(Shape s) {
        return s.rank() == 1 ? s.dim(0) : s.size() / s.dim(0);
    }

    static long fanOut(Shape s) {
        if (s.rank() == 1) {
            return s.dim(0);
        }
        return s.size() / s.dim(1);
    }

    private static void normal(float[] dst, double std, SplittableRandom rng) {
        for (int i = 0; i < dst.length; i++) {
            // Box-Muller on two uniforms: exact and reproducible from the seed alone.
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            dst[i] = (float) (std * Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
    }

    private static void uniform(float[] dst, double bound, SplittableRandom rng) {
        for (int i = 0; i < dst.length; i++) {
            dst[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        }
    }
}
