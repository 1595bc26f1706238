/**
 * The NVIDIA GPU backend, {@link io.batchwise.cudnn.CudnnBackend} ({@code cudnn}): cuDNN, cuBLAS and CUDA C kernels
 * compiled at run time with NVRTC, through the JavaCPP CUDA preset. Found by {@link java.util.ServiceLoader}; its one
 * public type is the provider, everything else is package-private.
 */
package io.batchwise.cudnn;
