package io.batchwise.cudnn;

import io.batchwise.backend.DeviceOutOfMemoryException;

/**
 * Status codes of the CUDA runtime and driver, cuDNN, cuBLAS and NVRTC, turned into exceptions that say
 * which call failed on what. Out-of-memory codes become {@link DeviceOutOfMemoryException}, the type
 * the trainer recovers from (halving the micro-batch); everything else an {@link IllegalStateException}.
 * The codes are written out here (they are the libraries' stable ABI values) so that this class loads
 * and is tested without the CUDA preset.
 */
final class CudaStatus {
    /** cudaErrorMemoryAllocation (runtime) and CUDA_ERROR_OUT_OF_MEMORY (driver). */
    static final int CUDA_OUT_OF_MEMORY = 2;
    /** CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED (= CUDNN_STATUS_ALLOC_FAILED) in cuDNN 9. */
    static final int CUDNN_HOST_ALLOCATION_FAILED = 4003;
    /** CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED in cuDNN 9. */
    static final int CUDNN_DEVICE_ALLOCATION_FAILED = 4004;
    /** CUBLAS_STATUS_ALLOC_FAILED. */
    static final int CUBLAS_ALLOC_FAILED = 3;
    /** NVRTC_ERROR_OUT_OF_MEMORY. */
    static final int NVRTC_OUT_OF_MEMORY = 1;

    /** The library a status comes from. */
    enum Library {
        CUDA_RUNTIME("CUDA runtime"), CUDA_DRIVER("CUDA driver"), CUDNN("cuDNN"), CUBLAS("cuBLAS"), NVRTC("NVRTC");

        final String display;

        Library(String display) {
            this.display = display;
        }
    }

    private CudaStatus() {
    }

    static boolean outOfMemory(Library library, int status) {
        return switch (library) {
            case CUDA_RUNTIME, CUDA_DRIVER -> status == CUDA_OUT_OF_MEMORY;
            case CUDNN -> status == CUDNN_HOST_ALLOCATION_FAILED || status == CUDNN_DEVICE_ALLOCATION_FAILED;
            case CUBLAS -> status == CUBLAS_ALLOC_FAILED;
            case NVRTC -> status == NVRTC_OUT_OF_MEMORY;
        };
    }

    /**
     * The exception for a failed call.
     *
     * @param status      the code (non-zero)
     * @param description the library's text for it (may be null)
     * @param call        what was being done, e.g. {@code cudaMalloc of 1,048,576 bytes for the step arena}
     * @param bytes       bytes the call needed, or -1
     * @param memory      the device's memory state, e.g. {@code 1.2 GiB free of 79.1 GiB}, or null
     */
    static RuntimeException error(Library library, int status, String description, String call, long bytes, String memory) {
        String text = library.display + " error " + status + (description == null || description.isBlank() ? "" : " (" + description + ")")
                + " in " + call;
        if (outOfMemory(library, status)) {
            return new DeviceOutOfMemoryException("out of device memory: " + text + (memory == null ? "" : "; " + memory), bytes, null);
        }
        return new IllegalStateException(text);
    }
}
