// Shared definitions of the Batchwise CUDA kernels.
//
// The kernels are compiled at run time by NVRTC (src/cudnn, CudaKernels) and checked at build time
// with `nvcc -ptx` (src/cudnn/check-kernels.sh). Neither sees a system header: only built-in device
// functions and what is defined here. Every kernel is extern "C" (no name mangling: the Java side
// looks them up by name), takes its element count first and loops grid-stride, so any launch size
// covers any n. Tensors are plain row-major, float32 or (a bf16 plan's activations, their gradients and
// the weight copies) bfloat16; 64-bit counts and offsets throughout. A kernel that touches activations
// is written once as a template over their element type, with one extern "C" entry point per type
// (name, name_bf16); arithmetic is float32 either way, bf16 only in memory.
#pragma once

#define BW_KERNEL extern "C" __global__

// for (i = global thread index; i < n; i += threads in the grid)
#define BW_FOR(i, n)                                                              \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long) blockDim.x * gridDim.x)

// Threads per block of the reductions (a power of two; the Java side launches them with it).
#define BW_REDUCE_THREADS 256

// bfloat16 as its bits: float32's top 16 (no system header, so not cuda_bf16.h's type).
typedef unsigned short bw_bf16;

// float32 -> bf16, rounded to nearest even; a NaN stays a quiet NaN (as Bf16.fromFloat in Java).
__device__ __forceinline__ bw_bf16 bw_bf16_from_float(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (bw_bf16) ((u >> 16) | 0x40u);
    }
    return (bw_bf16) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Element i as a float, and v stored into element i, for either element type.
__device__ __forceinline__ float bw_load(const float* p, long long i) {
    return p[i];
}

__device__ __forceinline__ float bw_load(const bw_bf16* p, long long i) {
    return __uint_as_float(((unsigned int) p[i]) << 16);
}

__device__ __forceinline__ void bw_put(float* p, long long i, float v) {
    p[i] = v;
}

__device__ __forceinline__ void bw_put(bw_bf16* p, long long i, float v) {
    p[i] = bw_bf16_from_float(v);
}

// y = v, or y = v + beta * y. beta == 0 never reads y, so an uninitialised (NaN) y stays out of it,
// as with cuDNN's and cuBLAS's beta.
template <typename T>
__device__ __forceinline__ void bw_store(T* y, long long i, float v, float beta) {
    bw_put(y, i, beta == 0.0f ? v : v + beta * bw_load(y, i));
}

// SplitMix64's finaliser: the same bits as DropoutMask.mix in Java (unsigned shifts, wrapping products).
__device__ __forceinline__ unsigned long long bw_mix(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Standard normal distribution function and density, for exact (erf) GELU.
__device__ __forceinline__ float bw_normal_cdf(float x) {
    return 0.5f * erfcf(-x * 0.70710678118654752440f);
}

__device__ __forceinline__ float bw_normal_pdf(float x) {
    return 0.39894228040143267794f * expf(-0.5f * x * x);
}

// Sum of v over the block (blockDim.x == BW_REDUCE_THREADS), in a fixed order: deterministic.
// The result is valid in thread 0.
__device__ __forceinline__ double bw_block_sum(double v) {
    __shared__ double part[BW_REDUCE_THREADS];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int s = BW_REDUCE_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            part[threadIdx.x] += part[threadIdx.x + s];
        }
        __syncthreads();
    }
    return part[0];
}
