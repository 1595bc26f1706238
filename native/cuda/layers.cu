// Layer kernels cuDNN lacks: LeakyReLU and exact GELU (forward and backward), channel-slice copies
// for Concat, the counter-based dropout mask, and exact BatchNorm's backward correction. Backward kernels take beta:
// dx = f'(x) dy + beta dx. Each has a float32 and a bf16 entry point over the activations' element type.
#include "batchwise.cuh"

// y = x > 0 ? x : slope x                                          x, y: (n)
template <typename T>
__device__ __forceinline__ void leaky_relu_forward_t(long long n, float slope, const T* x, T* y) {
    BW_FOR(i, n) {
        float v = bw_load(x, i);
        bw_put(y, i, v > 0.0f ? v : slope * v);
    }
}

BW_KERNEL void leaky_relu_forward(long long n, float slope, const float* x, float* y) {
    leaky_relu_forward_t(n, slope, x, y);
}

BW_KERNEL void leaky_relu_forward_bf16(long long n, float slope, const bw_bf16* x, bw_bf16* y) {
    leaky_relu_forward_t(n, slope, x, y);
}

// dx = (x > 0 ? 1 : slope) dy + beta dx                            x, dy, dx: (n)
template <typename T>
__device__ __forceinline__ void leaky_relu_backward_t(long long n, float slope, const T* x, const T* dy, float beta, T* dx) {
    BW_FOR(i, n) {
        bw_store(dx, i, (bw_load(x, i) > 0.0f ? 1.0f : slope) * bw_load(dy, i), beta);
    }
}

BW_KERNEL void leaky_relu_backward(long long n, float slope, const float* x, const float* dy, float beta, float* dx) {
    leaky_relu_backward_t(n, slope, x, dy, beta, dx);
}

BW_KERNEL void leaky_relu_backward_bf16(long long n, float slope, const bw_bf16* x, const bw_bf16* dy, float beta,
                                        bw_bf16* dx) {
    leaky_relu_backward_t(n, slope, x, dy, beta, dx);
}

// y = x Phi(x)                                                     x, y: (n)
template <typename T>
__device__ __forceinline__ void gelu_forward_t(long long n, const T* x, T* y) {
    BW_FOR(i, n) {
        float v = bw_load(x, i);
        bw_put(y, i, v * bw_normal_cdf(v));
    }
}

BW_KERNEL void gelu_forward(long long n, const float* x, float* y) {
    gelu_forward_t(n, x, y);
}

BW_KERNEL void gelu_forward_bf16(long long n, const bw_bf16* x, bw_bf16* y) {
    gelu_forward_t(n, x, y);
}

// dx = (Phi(x) + x phi(x)) dy + beta dx                            x, dy, dx: (n)
template <typename T>
__device__ __forceinline__ void gelu_backward_t(long long n, const T* x, const T* dy, float beta, T* dx) {
    BW_FOR(i, n) {
        float v = bw_load(x, i);
        bw_store(dx, i, (bw_normal_cdf(v) + v * bw_normal_pdf(v)) * bw_load(dy, i), beta);
    }
}

BW_KERNEL void gelu_backward(long long n, const float* x, const float* dy, float beta, float* dx) {
    gelu_backward_t(n, x, dy, beta, dx);
}

BW_KERNEL void gelu_backward_bf16(long long n, const bw_bf16* x, const bw_bf16* dy, float beta, bw_bf16* dx) {
    gelu_backward_t(n, x, dy, beta, dx);
}

// For o < outer, j < block: dst[o dstStride + dstOffset + j] = src[o srcStride + srcOffset + j] (+ beta dst).
// Concat forward: src (b, Ci, H, W) into its channel slice of dst (b, C, H, W), block = Ci H W,
// srcStride = Ci H W, dstStride = C H W, dstOffset = c0 H W; backward the other way round.
template <typename T>
__device__ __forceinline__ void slice_copy_t(long long outer, long long block, const T* src, long long srcStride,
                                             long long srcOffset, T* dst, long long dstStride, long long dstOffset, float beta) {
    BW_FOR(i, outer * block) {
        long long o = i / block;
        long long j = i - o * block;
        bw_store(dst, o * dstStride + dstOffset + j, bw_load(src, o * srcStride + srcOffset + j), beta);
    }
}

BW_KERNEL void slice_copy(long long outer, long long block, const float* src, long long srcStride, long long srcOffset,
                          float* dst, long long dstStride, long long dstOffset, float beta) {
    slice_copy_t(outer, block, src, srcStride, srcOffset, dst, dstStride, dstOffset, beta);
}

BW_KERNEL void slice_copy_bf16(long long outer, long long block, const bw_bf16* src, long long srcStride, long long srcOffset,
                               bw_bf16* dst, long long dstStride, long long dstOffset, float beta) {
    slice_copy_t(outer, block, src, srcStride, srcOffset, dst, dstStride, dstOffset, beta);
}

// Inverted-dropout mask (n = samples x perSample): element e of the micro-batch's sample s gets `kept`
// (1 / (1 - rate)) when DropoutMask.keep(nodeKey, firstSample + s, e, rate) holds, else 0. The hash is
// the Java one bit for bit, so masks match every backend and do not depend on the batch split.
template <typename T>
__device__ __forceinline__ void dropout_mask_t(long long n, long long perSample, unsigned long long nodeKey,
                                               long long firstSample, float rate, float kept, T* mask) {
    BW_FOR(i, n) {
        unsigned long long sample = (unsigned long long) (firstSample + i / perSample);
        unsigned long long element = (unsigned long long) (i % perSample);
        unsigned long long h = bw_mix(nodeKey + bw_mix(sample * 0xD1B54A32D192ED03ULL + element));
        double u = (double) (h >> 40) * 0x1.0p-24;  // top 24 bits as a uniform value in [0, 1)
        bw_put(mask, i, u >= (double) rate ? kept : 0.0f);
    }
}

BW_KERNEL void dropout_mask(long long n, long long perSample, unsigned long long nodeKey, long long firstSample,
                            float rate, float kept, float* mask) {
    dropout_mask_t(n, perSample, nodeKey, firstSample, rate, kept, mask);
}

BW_KERNEL void dropout_mask_bf16(long long n, long long perSample, unsigned long long nodeKey, long long firstSample,
                                 float rate, float kept, bw_bf16* mask) {
    dropout_mask_t(n, perSample, nodeKey, firstSample, rate, kept, mask);
}

// Exact BatchNorm's backward correction (CudnnBatchNorm). cuDNN's backward, given the effective batch's mean and
// inv_std, used this micro-batch's sums s1 = sum dy and s2 = sum dy xhat over its m = n hw values per channel;
// the effective batch's gradient uses the means over all of it instead, mean_dy = S1 / count and
// mean_dy_xhat = S2 / count. So dx += gamma inv_std ((s1 / m - mean_dy) + xhat (s2 / m - mean_dy_xhat)).
// One block of BW_REDUCE_THREADS threads per channel (grid-stride over channels); float64 sums in a fixed order.
//   x, dy, dx: (n, c, hw) of the activations' type; gamma, mean, inv_std, mean_dy, mean_dy_xhat: (c) float32
template <typename T>
__device__ __forceinline__ void batch_norm_exact_correction_t(long long n, long long c, long long hw, const T* x, const T* dy,
                                                              const float* gamma, const float* mean, const float* inv_std,
                                                              const float* mean_dy, const float* mean_dy_xhat, T* dx) {
    __shared__ double s1[BW_REDUCE_THREADS];
    __shared__ double s2[BW_REDUCE_THREADS];
    long long m = n * hw;
    for (long long k = blockIdx.x; k < c; k += gridDim.x) {
        double mu = mean[k];
        double is = inv_std[k];
        double a = 0.0;
        double b = 0.0;
        for (long long j = threadIdx.x; j < m; j += blockDim.x) {
            long long at = (j / hw * c + k) * hw + j % hw;
            double d = bw_load(dy, at);
            a += d;
            b += d * ((bw_load(x, at) - mu) * is);
        }
        s1[threadIdx.x] = a;
        s2[threadIdx.x] = b;
        __syncthreads();
        for (int s = BW_REDUCE_THREADS / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                s1[threadIdx.x] += s1[threadIdx.x + s];
                s2[threadIdx.x] += s2[threadIdx.x + s];
            }
            __syncthreads();
        }
        double gi = gamma[k] * is;
        double ca = s1[0] / m - mean_dy[k];
        double cb = s2[0] / m - mean_dy_xhat[k];
        for (long long j = threadIdx.x; j < m; j += blockDim.x) {
            long long at = (j / hw * c + k) * hw + j % hw;
            double xhat = (bw_load(x, at) - mu) * is;
            bw_put(dx, at, (float) (bw_load(dx, at) + gi * (ca + xhat * cb)));
        }
        __syncthreads(); // every thread has read s1[0], s2[0] before the next channel writes them
    }
}

BW_KERNEL void batch_norm_exact_correction(long long n, long long c, long long hw, const float* x, const float* dy,
                                           const float* gamma, const float* mean, const float* inv_std,
                                           const float* mean_dy, const float* mean_dy_xhat, float* dx) {
    batch_norm_exact_correction_t(n, c, hw, x, dy, gamma, mean, inv_std, mean_dy, mean_dy_xhat, dx);
}

BW_KERNEL void batch_norm_exact_correction_bf16(long long n, long long c, long long hw, const bw_bf16* x, const bw_bf16* dy,
                                                const float* gamma, const float* mean, const float* inv_std,
                                                const float* mean_dy, const float* mean_dy_xhat, bw_bf16* dx) {
    batch_norm_exact_correction_t(n, c, hw, x, dy, gamma, mean, inv_std, mean_dy, mean_dy_xhat, dx);
}
