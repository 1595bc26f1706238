package io.batchwise.cudnn;

import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.backend.Pass;

/**
 * What the backend needs from a device: memory addressed by 64-bit byte addresses, copies to and from
 * the host, the choice of convolution algorithms, and a way to run {@link CudnnOp}s. {@link CudaDevice}
 * is the GPU through cuDNN, cuBLAS and NVRTC-compiled kernels; the tests also run the same plans on a
 * plain-Java device, which checks the planner and executor everywhere, with or without a GPU.
 */
interface CudnnDevice {

    /** e.g. {@code NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB), CUDA 13.0, cuDNN 9.19.0}. */
    String describe();

    /** Counts every byte {@link #allocate} hands out until {@link #free}. */
    MemoryTracker tracker();

    /**
     * Zero-filled device memory of {@code bytes} for {@code what} (named in errors); its address.
     *
     * @throws DeviceOutOfMemoryException when the device has not enough free memory
     */
    long allocate(long bytes, String what);

    void free(long address, long bytes);

    void upload(long address, float[] src, int offset, int length);

    void download(long address, float[] dst, int offset, int length);

    /** bfloat16 elements as their bits (a bf16 tensor's host copies). */
    void uploadShorts(long address, short[] src, int offset, int length);

    void downloadShorts(long address, short[] dst, int offset, int length);

    void uploadInts(long address, int[] src, int offset, int length);

    void downloadInts(long address, int[] dst, int offset, int length);

    void downloadDoubles(long address, double[] dst, int offset, int length);

    /**
     * Null when this device runs {@link io.batchwise.backend.Precision#BF16_MIXED} at full speed; otherwise why bf16 is
     * refused, naming the device and what it lacks (bf16 tensor cores came with compute capability 8.0, Ampere).
     */
    String bf16Refusal();

    /** Free and total device memory in bytes; zeros when unknown. */
    long[] memory();

    /** The algorithms and workspace sizes for a convolution geometry: chosen once, then cached. */
    ConvAlgorithms tune(ConvGeometry g);

    /** Device-side objects (descriptors) for a program's ops; freed by {@link Compiled#close()}. */
    Compiled compile(CudnnProgram program);

    /** Bytes of {@link #scratch()}: the partial sums of {@link CudnnVectors#sumOfSquares} and their total, float64. */
    long SCRATCH_BYTES = 8L * (CudnnVectors.SQUARES_BLOCKS + 1);

    /**
     * {@link #SCRATCH_BYTES} of device memory for reductions, made on first use and held for the life of the
     * device outside {@link #tracker()}, like cuBLAS's and cuDNN's own workspaces (the budget's margin covers
     * them): a step allocates nothing outside its plan. One user at a time (callers synchronise on the device).
     */
    long scratch();

    /** Queues one kernel launch outside any program ({@link CudnnVectors}: optimizer steps, sums of squares). */
    void launch(KernelCall call, String label);

    /** Waits for every queued call and reports a failure among them, naming {@code after}. */
    void synchronize(String after);

    /** How one call runs: the pass (dropout seed, first sample), the gradient mode, the loss scale. */
    record Run(Pass pass, GradientMode mode, double lossScale) {
    }

    /** A program's ops ready to run. */
    interface Compiled extends AutoCloseable {

        /** Queues {@code op} with each buffer at {@code addresses[buffer.index]}. */
        void run(CudnnOp op, long[] addresses, Run run);

        @Override
        void close();
    }
}
