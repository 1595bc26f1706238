package io.batchwise.cudnn;

/**
 * The algorithms chosen for one convolution geometry and the workspace each needs, in bytes: what
 * the plan reserves for it. Chosen once per geometry ({@link CudnnDevice#tune}) from cuDNN's
 * heuristics, deterministic algorithms only, so that two runs of a step give the same bits.
 *
 * @param forward        a {@code cudnnConvolutionFwdAlgo_t}
 * @param backwardData   a {@code cudnnConvolutionBwdDataAlgo_t}
 * @param backwardFilter a {@code cudnnConvolutionBwdFilterAlgo_t}
 */
record ConvAlgorithms(int forward, long forwardBytes, int backwardData, long backwardDataBytes, int backwardFilter,
                      long backwardFilterBytes) {

    ConvAlgorithms {
        if (forwardBytes < 0 || backwardDataBytes < 0 || backwardFilterBytes < 0) {
            throw new IllegalArgumentException("negative workspace size");
        }
    }

    /** The backward pass's workspace: one buffer serves both backward calls, which run one after the other. */
    long backwardBytes() {
        return Math.max(backwardDataBytes, backwardFilterBytes);
    }
}
