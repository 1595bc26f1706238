package io.batchwise.cudnn;

/**
 * The algorithms chosen for one convolution geometry, the math type each runs with and the workspace
 * each needs, in bytes: what the plan reserves for it. Chosen once per geometry ({@link CudnnDevice#tune})
 * from cuDNN's heuristics, deterministic algorithms only, so that two runs of a step give the same bits.
 *
 * @param forward        a {@code cudnnConvolutionFwdAlgo_t}
 * @param backwardData   a {@code cudnnConvolutionBwdDataAlgo_t}
 * @param backwardFilter a {@code cudnnConvolutionBwdFilterAlgo_t}
 * @param forwardMath    the {@code cudnnMathType_t} the forward descriptor gets: the chosen candidate's
 *                       {@code perf.mathType} (an algorithm may not run under another math type)
 */
record ConvAlgorithms(int forward, long forwardBytes, int backwardData, long backwardDataBytes, int backwardFilter,
                      long backwardFilterBytes, int forwardMath, int backwardDataMath, int backwardFilterMath) {
    /** {@code CUDNN_FMA_MATH}: float32 without tensor cores. */
    static final int FMA_MATH = 3;

    ConvAlgorithms {
        if (forwardBytes < 0 || backwardDataBytes < 0 || backwardFilterBytes < 0) {
            throw new IllegalArgumentException("negative workspace size");
        }
    }

    /** Algorithms that all run with {@code CUDNN_FMA_MATH} (the simulated device's, the planner tests'). */
    ConvAlgorithms(int forward, long forwardBytes, int backwardData, long backwardDataBytes, int backwardFilter,
                   long backwardFilterBytes) {
        this(forward, forwardBytes, backwardData, backwardDataBytes, backwardFilter, backwardFilterBytes, FMA_MATH, FMA_MATH,
                FMA_MATH);
    }

    /** The backward pass's workspace: one buffer serves both backward calls, which run one after the other. */
    long backwardBytes() {
        return Math.max(backwardDataBytes, backwardFilterBytes);
    }
}
