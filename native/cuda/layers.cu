// Layer kernels cuDNN lacks: LeakyReLU and exact GELU (forward and backward), channel-slice copies
// for Concat, and the counter-based dropout mask. Backward kernels take beta: dx = f'(x) dy + beta dx.
#include "batchwise.cuh"

// y = x > 0 ? x : slope x                                          x, y: (n)
BW_KERNEL void leaky_relu_forward(long long n, float slope, const float* x, float* y) {
    BW_FOR(i, n) {
        float v = x[i];
        y[i] = v > 0.0f ? v : slope * v;
    }
}

// dx = (x > 0 ? 1 : slope) dy + beta dx                            x, dy, dx: (n)
BW_KERNEL void leaky_relu_backward(long long n, float slope, const float* x, const float* dy, float beta, float* dx) {
    BW_FOR(i, n) {
        bw_store(dx, i, (x[i] > 0.0f ? 1.0f : slope) * dy[i], beta);
    }
}

// y = x Phi(x)                                                     x, y: (n)
BW_KERNEL void gelu_forward(long long n, const float* x, float* y) {
    BW_FOR(i, n) {
        float v = x[i];
        y[i] = v * bw_normal_cdf(v);
    }
}

// dx = (Phi(x) + x phi(x)) dy + beta dx                            x, dy, dx: (n)
BW_KERNEL void gelu_backward(long long n, const float* x, const float* dy, float beta, float* dx) {
    BW_FOR(i, n) {
        float v = x[i];
        bw_store(dx, i, (bw_normal_cdf(v) + v * bw_normal_pdf(v)) * dy[i], beta);
    }
}

// For o < outer, j < block: dst[o dstStride + dstOffset + j] = src[o srcStride + srcOffset + j] (+ beta dst).
// Concat forward: src (b, Ci, H, W) into its channel slice of dst (b, C, H, W), block = Ci H W,
// srcStride = Ci H W, dstStride = C H W, dstOffset = c0 H W; backward the other way round.
BW_KERNEL void slice_copy(long long outer, long long block, const float* src, long long srcStride, long long srcOffset,
                          float* dst, long long dstStride, long long dstOffset, float beta) {
    BW_FOR(i, outer * block) {
        long long o = i / block;
        long long j = i - o * block;
        bw_store(dst, o * dstStride + dstOffset + j, src[o * srcStride + srcOffset + j], beta);
    }
}

// Inverted-dropout mask (n = samples x perSample): element e of the micro-batch's sample s gets `kept`
// (1 / (1 - rate)) when DropoutMask.keep(nodeKey, firstSample + s, e, rate) holds, else 0. The hash is
// the Java one bit for bit, so masks match every backend and do not depend on the batch split.
BW_KERNEL void dropout_mask(long long n, long long perSample, unsigned long long nodeKey, long long firstSample,
                            float rate, float kept, float* mask) {
    BW_FOR(i, n) {
        unsigned long long sample = (unsigned long long) (firstSample + i / perSample);
        unsigned long long element = (unsigned long long) (i % perSample);
        unsigned long long h = bw_mix(nodeKey + bw_mix(sample * 0xD1B54A32D192ED03ULL + element));
        double u = (double) (h >> 40) * 0x1.0p-24;  // top 24 bits as a uniform value in [0, 1)
        mask[i] = u >= (double) rate ? kept : 0.0f;
    }
}
