package io.batchwise.cudnn;

import io.batchwise.spi.Bf16;

/**
 * The cuDNN and cuBLAS ops of a program as plain loops on a {@link SimulatedDevice}, with the
 * semantics of the real calls: outputs blended as {@code result + beta * out} (beta 0 never reads out),
 * cuBLAS's column-major GEMM, cuDNN's max pooling over in-bounds positions only, cuDNN's BatchNorm
 * (biased batch variance for normalising, unbiased in the running variance, {@code 1 / sqrt(var + eps)}
 * saved). Sums run in float64 and are stored as float32.
 */
final class SimulatedOps {
    private final SimulatedDevice m;
    private final long[] a;
    private final CudnnDevice.Run run;

    SimulatedOps(SimulatedDevice m, long[] addresses, CudnnDevice.Run run) {
        this.m = m;
        this.a = addresses;
        this.run = run;
    }

    /** Element i of b as a float (bf16 widened exactly). */
    private float get(CudnnBuffer b, long i) {
        return b.bf16() ? Bf16.toFloat(m.getH(a[b.index] + 2 * i)) : m.getF(a[b.index] + 4 * i);
    }

    /** v stored into element i of b: rounded to float32, then (bf16) to nearest even, as the library's output stage. */
    private void set(CudnnBuffer b, long i, double v) {
        if (b.bf16()) {
            m.putH(a[b.index] + 2 * i, Bf16.fromFloat((float) v));
        } else {
            m.putF(a[b.index] + 4 * i, (float) v);
        }
    }

    /** The first {@code n} elements of {@code b} as floats, read in bulk (the convolutions' inner loops index arrays). */
    private float[] floats(CudnnBuffer b, long n) {
        if (!b.bf16()) {
            return m.readFloats(a[b.index], Math.toIntExact(n));
        }
        float[] out = new float[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(b, i);
        }
        return out;
    }

    /** out[i] = v[i] + beta * out[i] (beta 0 does not read out). */
    private void blend(CudnnBuffer out, double[] v, CudnnOp.Beta beta) {
        float bv = beta.value(run.mode());
        for (int i = 0; i < v.length; i++) {
            set(out, i, bv == 0f ? v[i] : v[i] + bv * get(out, i));
        }
    }

    void run(CudnnOp op) {
        if (op instanceof CudnnOp.ConvForward o) {
            ConvGeometry g = o.g();
            double[] y = new double[Math.toIntExact(g.destinationElements())];
            float[] x = floats(o.x(), g.sourceElements());
            float[] w = floats(o.w(), g.filterElements());
            conv(g, (xi, wi, yi) -> y[(int) yi] += (double) x[(int) xi] * w[(int) wi]);
            blend(o.y(), y, o.beta());
        } else if (op instanceof CudnnOp.ConvBackwardData o) {
            ConvGeometry g = o.g();
            double[] dx = new double[Math.toIntExact(g.sourceElements())];
            float[] w = floats(o.w(), g.filterElements());
            float[] dy = floats(o.dy(), g.destinationElements());
            conv(g, (xi, wi, yi) -> dx[(int) xi] += (double) w[(int) wi] * dy[(int) yi]);
            blend(o.dx(), dx, o.beta());
        } else if (op instanceof CudnnOp.ConvBackwardFilter o) {
            ConvGeometry g = o.g();
            double[] dw = new double[Math.toIntExact(g.filterElements())];
            float[] x = floats(o.x(), g.sourceElements());
            float[] dy = floats(o.dy(), g.destinationElements());
            conv(g, (xi, wi, yi) -> dw[(int) wi] += (double) x[(int) xi] * dy[(int) yi]);
            blend(o.dw(), dw, o.beta());
        } else if (op instanceof CudnnOp.BiasForward o) {
            for (int n = 0; n < o.n(); n++) {
                for (int c = 0; c < o.c(); c++) {
                    for (int i = 0; i < o.hw(); i++) {
                        long at = ((long) n * o.c() + c) * o.hw() + i;
                        double v = get(o.bias(), c);
                        set(o.y(), at, o.beta() == CudnnOp.Beta.ZERO ? v : get(o.y(), at) + v);
                    }
                }
            }
        } else if (op instanceof CudnnOp.BiasBackward o) {
            double[] db = new double[o.c()];
            for (int n = 0; n < o.n(); n++) {
                for (int c = 0; c < o.c(); c++) {
                    for (int i = 0; i < o.hw(); i++) {
                        db[c] += get(o.dy(), ((long) n * o.c() + c) * o.hw() + i);
                    }
                }
            }
            blend(o.db(), db, o.beta());
        } else if (op instanceof CudnnOp.Gemm o) {
            gemm(o);
        } else if (op instanceof CudnnOp.PoolForward o) {
            pool(o.g(), o.x(), o.y(), null, null, null);
        } else if (op instanceof CudnnOp.PoolBackward o) {
            pool(o.g(), o.x(), null, o.dy(), o.dx(), o.beta());
        } else if (op instanceof CudnnOp.ActForward o) {
            double[] y = new double[Math.toIntExact(o.elements())];
            for (int i = 0; i < y.length; i++) {
                double x = get(o.x(), i);
                y[i] = switch (o.act()) {
                    case RELU -> Math.max(0, x);
                    case SIGMOID -> 1 / (1 + Math.exp(-x));
                    case TANH -> Math.tanh(x);
                    case ELU -> x > 0 ? x : o.coef() * Math.expm1(x);
                    default -> throw new IllegalStateException(o.act() + " runs as a kernel");
                };
            }
            blend(o.y(), y, CudnnOp.Beta.ZERO);
        } else if (op instanceof CudnnOp.ActBackward o) {
            double[] dx = new double[Math.toIntExact(o.elements())];
            for (int i = 0; i < dx.length; i++) {
                double x = get(o.x(), i);
                double y = get(o.y(), i);
                double dy = get(o.dy(), i);
                dx[i] = switch (o.act()) {
                    case RELU -> x > 0 ? dy : 0;
                    case SIGMOID -> dy * y * (1 - y);
                    case TANH -> dy * (1 - y * y);
                    case ELU -> x > 0 ? dy : dy * (y + o.coef());
                    default -> throw new IllegalStateException(o.act() + " runs as a kernel");
                };
            }
            blend(o.dx(), dx, o.beta());
        } else if (op instanceof CudnnOp.SoftmaxForward o) {
            double[] y = new double[o.n() * o.c() * o.hw()];
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < o.hw(); i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < o.c(); c++) {
                        max = Math.max(max, get(o.x(), (n * o.c() + c) * o.hw() + i));
                    }
                    double sum = 0;
                    for (int c = 0; c < o.c(); c++) {
                        int at = (n * o.c() + c) * o.hw() + i;
                        y[at] = Math.exp(get(o.x(), at) - max);
                        sum += y[at];
                    }
                    for (int c = 0; c < o.c(); c++) {
                        y[(n * o.c() + c) * o.hw() + i] /= sum;
                    }
                }
            }
            blend(o.y(), y, CudnnOp.Beta.ZERO);
        } else if (op instanceof CudnnOp.SoftmaxBackward o) {
            double[] dx = new double[o.n() * o.c() * o.hw()];
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < o.hw(); i++) {
                    double dot = 0;
                    for (int c = 0; c < o.c(); c++) {
                        int at = (n * o.c() + c) * o.hw() + i;
                        dot += (double) get(o.y(), at) * get(o.dy(), at);
                    }
                    for (int c = 0; c < o.c(); c++) {
                        int at = (n * o.c() + c) * o.hw() + i;
                        dx[at] = get(o.y(), at) * (get(o.dy(), at) - dot);
                    }
                }
            }
            blend(o.dx(), dx, o.beta());
        } else if (op instanceof CudnnOp.BatchNormTraining o) {
            batchNormTraining(o);
        } else if (op instanceof CudnnOp.BatchNormInference o) {
            int hw = o.h() * o.w();
            double[] y = new double[o.n() * o.c() * hw];
            for (int c = 0; c < o.c(); c++) {
                double inv = 1 / Math.sqrt(get(o.runningVar(), c) + o.epsilon());
                for (int n = 0; n < o.n(); n++) {
                    for (int i = 0; i < hw; i++) {
                        int at = (n * o.c() + c) * hw + i;
                        y[at] = get(o.gamma(), c) * (get(o.x(), at) - get(o.runningMean(), c)) * inv + get(o.shift(), c);
                    }
                }
            }
            blend(o.y(), y, CudnnOp.Beta.ZERO);
        } else if (op instanceof CudnnOp.BatchNormBackward o) {
            batchNormBackward(o);
        } else {
            throw new IllegalStateException(op.label() + ": " + op.getClass().getSimpleName() + " has no simulation");
        }
    }

    private interface Triple {
        void at(long x, long w, long y);
    }

    /** Every (x, w, y) index triple of a cross-correlation; out-of-bounds (padded) positions skipped. */
    private static void conv(ConvGeometry g, Triple t) {
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                for (int oy = 0; oy < g.outH(); oy++) {
                    for (int ox = 0; ox < g.outW(); ox++) {
                        long yi = (((long) n * g.k() + k) * g.outH() + oy) * g.outW() + ox;
                        for (int c = 0; c < g.c(); c++) {
                            for (int r = 0; r < g.r(); r++) {
                                int iy = oy * g.strideH() - g.padH() + r * g.dilationH();
                                if (iy < 0 || iy >= g.h()) {
                                    continue;
                                }
                                for (int s = 0; s < g.s(); s++) {
                                    int ix = ox * g.strideW() - g.padW() + s * g.dilationW();
                                    if (ix < 0 || ix >= g.w()) {
                                        continue;
                                    }
                                    long xi = (((long) n * g.c() + c) * g.h() + iy) * g.w() + ix;
                                    long wi = (((long) k * g.c() + c) * g.r() + r) * g.s() + s;
                                    t.at(xi, wi, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** C (m, n) = op(A) op(B) + beta C, column-major: element (i, j) of a matrix with leading dimension ld at i + j ld. */
    private void gemm(CudnnOp.Gemm o) {
        double[] c = new double[o.m() * o.n()];
        for (int i = 0; i < o.m(); i++) {
            for (int j = 0; j < o.n(); j++) {
                double s = 0;
                for (int l = 0; l < o.k(); l++) {
                    float av = o.transA() ? get(o.a(), l + (long) i * o.lda()) : get(o.a(), i + (long) l * o.lda());
                    float bv = o.transB() ? get(o.b(), j + (long) l * o.ldb()) : get(o.b(), l + (long) j * o.ldb());
                    s += (double) av * bv;
                }
                c[i + j * o.m()] = s;
            }
        }
        float bv = o.beta().value(run.mode());
        for (int i = 0; i < o.m(); i++) {
            for (int j = 0; j < o.n(); j++) {
                long at = i + (long) j * o.ldc();
                set(o.c(), at, bv == 0f ? c[i + j * o.m()] : c[i + j * o.m()] + bv * get(o.c(), at));
            }
        }
    }

    /** Forward (dy == null): y from x. Backward: dx from dy (max pooling finds its first maximum again from x). */
    private void pool(PoolGeometry g, CudnnBuffer x, CudnnBuffer y, CudnnBuffer dy, CudnnBuffer dx, CudnnOp.Beta beta) {
        double[] out = new double[Math.toIntExact(dy == null ? g.destinationElements() : g.sourceElements())];
        for (int plane = 0; plane < g.n() * g.c(); plane++) {
            for (int oy = 0; oy < g.outH(); oy++) {
                for (int ox = 0; ox < g.outW(); ox++) {
                    int y0 = oy * g.strideH() - g.padH();
                    int x0 = ox * g.strideW() - g.padW();
                    int yi = (plane * g.outH() + oy) * g.outW() + ox;
                    int count = 0;
                    double sum = 0;
                    double max = Double.NEGATIVE_INFINITY;
                    int arg = -1;
                    for (int iy = Math.max(0, y0); iy < Math.min(g.h(), y0 + g.windowH()); iy++) {
                        for (int ix = Math.max(0, x0); ix < Math.min(g.w(), x0 + g.windowW()); ix++) {
                            int xi = (plane * g.h() + iy) * g.w() + ix;
                            double v = get(x, xi);
                            count++;
                            sum += v;
                            if (arg < 0 || v > max) {
                                max = v;
                                arg = xi;
                            }
                        }
                    }
                    int divisor = g.mode() == PoolGeometry.Mode.AVERAGE_INCLUDE_PADDING ? g.windowH() * g.windowW() : count;
                    if (dy == null) {
                        out[yi] = g.mode() == PoolGeometry.Mode.MAX ? max : sum / divisor;
                    } else if (g.mode() == PoolGeometry.Mode.MAX) {
                        out[arg] += get(dy, yi);
                    } else {
                        double d = get(dy, yi) / divisor;
                        for (int iy = Math.max(0, y0); iy < Math.min(g.h(), y0 + g.windowH()); iy++) {
                            for (int ix = Math.max(0, x0); ix < Math.min(g.w(), x0 + g.windowW()); ix++) {
                                out[(plane * g.h() + iy) * g.w() + ix] += d;
                            }
                        }
                    }
                }
            }
        }
        if (dy == null) {
            blend(y, out, CudnnOp.Beta.ZERO);
        } else {
            blend(dx, out, beta);
        }
    }

    private void batchNormTraining(CudnnOp.BatchNormTraining o) {
        int hw = o.h() * o.w();
        long count = (long) o.n() * hw;
        double[] y = new double[o.n() * o.c() * hw];
        for (int c = 0; c < o.c(); c++) {
            double mean = 0;
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < hw; i++) {
                    mean += get(o.x(), (n * o.c() + c) * hw + i);
                }
            }
            mean /= count;
            double var = 0;
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < hw; i++) {
                    double d = get(o.x(), (n * o.c() + c) * hw + i) - mean;
                    var += d * d;
                }
            }
            var /= count;
            double inv = 1 / Math.sqrt(var + o.epsilon());
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < hw; i++) {
                    int at = (n * o.c() + c) * hw + i;
                    y[at] = get(o.gamma(), c) * (get(o.x(), at) - mean) * inv + get(o.shift(), c);
                }
            }
            double f = o.momentum();
            set(o.runningMean(), c, (1 - f) * get(o.runningMean(), c) + f * mean);
            set(o.runningVar(), c, (1 - f) * get(o.runningVar(), c) + f * var * count / (count - 1));
            set(o.saveMean(), c, mean);
            set(o.saveInvStd(), c, inv);
        }
        blend(o.y(), y, CudnnOp.Beta.ZERO);
    }

    private void batchNormBackward(CudnnOp.BatchNormBackward o) {
        int hw = o.h() * o.w();
        long count = (long) o.n() * hw;
        double[] dx = new double[o.n() * o.c() * hw];
        double[] dGamma = new double[o.c()];
        double[] dShift = new double[o.c()];
        for (int c = 0; c < o.c(); c++) {
            double mean = get(o.saveMean(), c);
            double inv = get(o.saveInvStd(), c);
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < hw; i++) {
                    int at = (n * o.c() + c) * hw + i;
                    double xhat = (get(o.x(), at) - mean) * inv;
                    dGamma[c] += get(o.dy(), at) * xhat;
                    dShift[c] += get(o.dy(), at);
                }
            }
            double k = get(o.gamma(), c) * inv / count;
            for (int n = 0; n < o.n(); n++) {
                for (int i = 0; i < hw; i++) {
                    int at = (n * o.c() + c) * hw + i;
                    double xhat = (get(o.x(), at) - mean) * inv;
                    dx[at] = k * (count * get(o.dy(), at) - dShift[c] - xhat * dGamma[c]);
                }
            }
        }
        blend(o.dx(), dx, o.dataBeta());
        blend(o.dGamma(), dGamma, o.paramBeta());
        blend(o.dShift(), dShift, o.paramBeta());
    }
}
