// Element-wise vector operations over flat float32 buffers: what gradient accumulation, fills and
// optimizer updates are made of (y = a x + b y accumulates or copies gradients; an Adam step is
// mul, axpby, sqrt, linear and div; clipping needs a sum of squares).
#include "batchwise.cuh"

// y = value                                                         y: (n)
BW_KERNEL void vec_fill(long long n, float value, float* y) {
    BW_FOR(i, n) {
        y[i] = value;
    }
}

// y = a x + b y; b == 0 does not read y (a copy when a == 1)       x, y: (n)
BW_KERNEL void vec_axpby(long long n, float a, const float* x, float b, float* y) {
    BW_FOR(i, n) {
        bw_store(y, i, a * x[i], b);
    }
}

// y = x z + beta y (element-wise product; dropout's mask)         x, z, y: (n)
BW_KERNEL void vec_mul(long long n, const float* x, const float* z, float beta, float* y) {
    BW_FOR(i, n) {
        bw_store(y, i, x[i] * z[i], beta);
    }
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
