// Element-wise vector operations over flat float32 buffers: what gradient accumulation, fills and
// optimizer updates are made of (y = a x + b y accumulates or copies gradients and runs SGD; the
// adaptive rules are one fused pass each; clipping and the noise scale need a sum of squares).
#include "batchwise.cuh"

// The optimizer kernels round every operation and never fuse a multiply and an add into an FMA
// (__fmul_rn and friends; sqrt and division are IEEE-exact): they then give the bits of the host's
// float32 loops (io.batchwise.train.Updater, UpdateRule), so a step on the GPU equals one on a CPU.
#define BW_MUL __fmul_rn
#define BW_ADD __fadd_rn
#define BW_SUB __fsub_rn
#define BW_DIV __fdiv_rn
#define BW_SQRT __fsqrt_rn

// (x + 2^-80) - 2^-80 (VectorOps.FLUSH): x itself from 2^-55 up, zero or at least 2^-104 below, so decaying
// optimizer state is never subnormal, as on the CPU backends (where subnormals are slow).
__device__ __forceinline__ float bw_flush(float x) {
    const float f = __int_as_float(0x17800000); // 2^-80: biased exponent 47
    return BW_SUB(BW_ADD(x, f), f);
}

// y = value                                                         y: (n)
template <typename T>
__device__ __forceinline__ void vec_fill_t(long long n, float value, T* y) {
    BW_FOR(i, n) {
        bw_put(y, i, value);
    }
}

BW_KERNEL void vec_fill(long long n, float value, float* y) {
    vec_fill_t(n, value, y);
}

BW_KERNEL void vec_fill_bf16(long long n, float value, bw_bf16* y) {
    vec_fill_t(n, value, y);
}

// y = a x + b y; b == 0 does not read y (a copy when a == 1)       x, y: (n)
template <typename T>
__device__ __forceinline__ void vec_axpby_t(long long n, float a, const T* x, float b, T* y) {
    BW_FOR(i, n) {
        bw_store(y, i, a * bw_load(x, i), b);
    }
}

BW_KERNEL void vec_axpby(long long n, float a, const float* x, float b, float* y) {
    vec_axpby_t(n, a, x, b, y);
}

BW_KERNEL void vec_axpby_bf16(long long n, float a, const bw_bf16* x, float b, bw_bf16* y) {
    vec_axpby_t(n, a, x, b, y);
}

// y = bf16(x), rounded to nearest even (a bf16 plan's input, weight copies, output gradient)   x: (n) float32, y: (n) bf16
BW_KERNEL void convert_f32_bf16(long long n, const float* x, bw_bf16* y) {
    BW_FOR(i, n) {
        y[i] = bw_bf16_from_float(x[i]);
    }
}

// y = x + b y, exact; b == 0 does not read y (a bf16 plan's output, weight gradients)   x: (n) bf16, y: (n) float32
BW_KERNEL void convert_bf16_f32(long long n, const bw_bf16* x, float b, float* y) {
    BW_FOR(i, n) {
        bw_store(y, i, bw_load(x, i), b);
    }
}

// y = flush(a x + b y); b == 0 does not read y (momentum buffers: VectorOps.axpbyFlushed)   x, y: (n)
BW_KERNEL void vec_axpby_flushed(long long n, float a, const float* x, float b, float* y) {
    BW_FOR(i, n) {
        float v = a * x[i];
        y[i] = bw_flush(b == 0.0f ? v : v + b * y[i]);
    }
}

// y = x z + beta y (element-wise product; dropout's mask)         x, z, y: (n)
template <typename T>
__device__ __forceinline__ void vec_mul_t(long long n, const T* x, const T* z, float beta, T* y) {
    BW_FOR(i, n) {
        bw_store(y, i, bw_load(x, i) * bw_load(z, i), beta);
    }
}

BW_KERNEL void vec_mul(long long n, const float* x, const float* z, float beta, float* y) {
    vec_mul_t(n, x, z, beta, y);
}

BW_KERNEL void vec_mul_bf16(long long n, const bw_bf16* x, const bw_bf16* z, float beta, bw_bf16* y) {
    vec_mul_t(n, x, z, beta, y);
}

// y = x / z                                                         x, z, y: (n)
BW_KERNEL void vec_div(long long n, const float* x, const float* z, float* y) {
    BW_FOR(i, n) {
        y[i] = x[i] / z[i];
    }
}

// y = sqrt(x)                                                       x, y: (n)
BW_KERNEL void vec_sqrt(long long n, const float* x, float* y) {
    BW_FOR(i, n) {
        y[i] = sqrtf(x[i]);
    }
}

// y = a x + c (a scalar affine map; c = eps after a sqrt, say)    x, y: (n)
BW_KERNEL void vec_linear(long long n, float a, const float* x, float c, float* y) {
    BW_FOR(i, n) {
        y[i] = a * x[i] + c;
    }
}

// partials[block] = sum of x[i]^2 over the block's grid-stride share, in float64. Launch with
// BW_REDUCE_THREADS threads and a fixed number of blocks, then vec_sum over the partials: the same
// launch gives the same sum, bit for bit.                       x: (n), partials: (gridDim.x)
BW_KERNEL void vec_sum_squares(long long n, const float* x, double* partials) {
    double s = 0.0;
    BW_FOR(i, n) {
        double v = x[i];
        s += v * v;
    }
    double t = bw_block_sum(s);
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = t;
    }
}

// out[0] = sum of v[0..m) in float64; one block of BW_REDUCE_THREADS threads.   v: (m), out: (1)
BW_KERNEL void vec_sum(long long m, const double* v, double* out) {
    double s = 0.0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x) {
        s += v[i];
    }
    double t = bw_block_sum(s);
    if (threadIdx.x == 0) {
        out[0] = t;
    }
}

// One Adam or AdamW step (UpdateRule.Adam) in one pass:                      w, g, m, v: (n)
//   w' = w keep; g' = g + decay w'; m = flush(beta1 m + a1 g'); v = flush(beta2 v + a2 g' g');
//   w = w' - step_size m / (sqrt(v) inv_sqrt_c2 + eps)
BW_KERNEL void adam_step(long long n, float beta1, float beta2, float a1, float a2, float step_size, float inv_sqrt_c2,
                         float eps, float keep, float decay, float* w, const float* g, float* m, float* v) {
    BW_FOR(i, n) {
        float wi = BW_MUL(w[i], keep);
        float gi = BW_ADD(g[i], BW_MUL(decay, wi));
        float mi = bw_flush(BW_ADD(BW_MUL(beta1, m[i]), BW_MUL(a1, gi)));
        float vi = bw_flush(BW_ADD(BW_MUL(beta2, v[i]), BW_MUL(BW_MUL(a2, gi), gi)));
        m[i] = mi;
        v[i] = vi;
        w[i] = BW_SUB(wi, BW_DIV(BW_MUL(step_size, mi), BW_ADD(BW_MUL(BW_SQRT(vi), inv_sqrt_c2), eps)));
    }
}

// One Adagrad step (UpdateRule.Adagrad); first != 0 starts the accumulator from initial:   w, g, sum: (n)
//   g' = g + wd w; sum = (first ? initial : sum) + g' g'; w = w - lr g' / (sqrt(sum) + eps)
BW_KERNEL void adagrad_step(long long n, float lr, float wd, float eps, int first, float initial, float* w, const float* g,
                            float* sum) {
    BW_FOR(i, n) {
        float gi = BW_ADD(g[i], BW_MUL(wd, w[i]));
        float acc = BW_ADD(first != 0 ? initial : sum[i], BW_MUL(gi, gi));
        sum[i] = acc;
        w[i] = BW_SUB(w[i], BW_DIV(BW_MUL(lr, gi), BW_ADD(BW_SQRT(acc), eps)));
    }
}

// One RMSprop step (UpdateRule.RmsProp); buf (momentum) and avg (centred) may be null:   w, g, v, buf, avg: (n)
//   g' = g + wd w; v = flush(alpha v + a1 g' g'); centred: avg = flush(alpha avg + a1 g'), d = v - avg^2, else d = v;
//   step = g' / (sqrt(d) + eps); momentum: buf = flush(mu buf + step), step = buf; w = w - lr step
BW_KERNEL void rmsprop_step(long long n, float wd, float alpha, float a1, float eps, float mu, float lr, float* w,
                            const float* g, float* v, float* buf, float* avg) {
    BW_FOR(i, n) {
        float gi = BW_ADD(g[i], BW_MUL(wd, w[i]));
        float vi = bw_flush(BW_ADD(BW_MUL(alpha, v[i]), BW_MUL(BW_MUL(a1, gi), gi)));
        v[i] = vi;
        float d = vi;
        if (avg != nullptr) {
            float ai = bw_flush(BW_ADD(BW_MUL(alpha, avg[i]), BW_MUL(a1, gi)));
            avg[i] = ai;
            d = BW_SUB(vi, BW_MUL(ai, ai));
        }
        float step = BW_DIV(gi, BW_ADD(BW_SQRT(d), eps));
        if (buf != nullptr) {
            step = bw_flush(BW_ADD(BW_MUL(mu, buf[i]), step));
            buf[i] = step;
        }
        w[i] = BW_SUB(w[i], BW_MUL(lr, step));
    }
}

// One Adadelta step (UpdateRule.Adadelta):                                   w, g, v, u: (n)
//   g' = g + wd w; v = flush(rho v + r1 g' g'); dx = sqrt(u + eps) / sqrt(v + eps) g'; u = flush(rho u + r1 dx dx);
//   w = w - lr dx
BW_KERNEL void adadelta_step(long long n, float wd, float rho, float r1, float eps, float lr, float* w, const float* g,
                             float* v, float* u) {
    BW_FOR(i, n) {
        float gi = BW_ADD(g[i], BW_MUL(wd, w[i]));
        float vi = bw_flush(BW_ADD(BW_MUL(rho, v[i]), BW_MUL(BW_MUL(r1, gi), gi)));
        v[i] = vi;
        float ui = u[i];
        float dx = BW_MUL(BW_DIV(BW_SQRT(BW_ADD(ui, eps)), BW_SQRT(BW_ADD(vi, eps))), gi);
        u[i] = bw_flush(BW_ADD(BW_MUL(rho, ui), BW_MUL(BW_MUL(r1, dx), dx)));
        w[i] = BW_SUB(w[i], BW_MUL(lr, dx));
    }
}
