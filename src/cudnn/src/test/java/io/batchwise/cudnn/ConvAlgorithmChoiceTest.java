package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * How an algorithm is picked from cuDNN's ranked heuristics (the candidates' status, determinism, math type
 * and workspace as cuDNN reports them), checked without a device: no class here loads a native library.
 */
class ConvAlgorithmChoiceTest {
    private static final ConvGeometry G = new ConvGeometry(8, 3, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 28, 28);
    private static final int OK = 0;        // CUDNN_STATUS_SUCCESS
    private static final int UNSUPPORTED = 3000;
    private static final int DET = 1;       // CUDNN_DETERMINISTIC
    private static final int NONDET = 0;
    private static final int FMA = 3;       // CUDNN_FMA_MATH
    private static final int TENSOR_OP = 1; // CUDNN_TENSOR_OP_MATH

    @Test
    void theFirstDeterministicFloat32CandidateWithinTheLimitWins() {
        int[] algos = {7, 0, 1, 6, 2};
        int[] status = {UNSUPPORTED, OK, OK, OK, OK};
        int[] det = {DET, NONDET, DET, DET, DET};
        int[] math = {FMA, FMA, TENSOR_OP, FMA, FMA};
        long[] mem = {0, 0, 0, CudaDevice.WORKSPACE_LIMIT + 1, 1024};
        // 7 unsupported, 0 non-deterministic, 1 tensor-op math, 6 over the workspace limit: 2.
        assertEquals(2, CudaDevice.pick("forward", G, algos, status, det, math, mem));
    }

    @Test
    void withoutADeterministicCandidateTheFirstWorkingOneIsUsed() {
        assertEquals(0, CudaDevice.pick("backward filter", G, new int[] {0, 3}, new int[] {OK, OK}, new int[] {NONDET, NONDET},
                new int[] {FMA, FMA}, new long[] {0, 0}));
    }

    @Test
    void noWorkingCandidateNamesTheDirectionAndTheShape() {
        var e = assertThrows(IllegalStateException.class, () -> CudaDevice.pick("backward data", G, new int[] {0, 1},
                new int[] {UNSUPPORTED, OK}, new int[] {DET, DET}, new int[] {FMA, FMA},
                new long[] {0, CudaDevice.WORKSPACE_LIMIT + 1}));
        assertTrue(e.getMessage().contains("no backward data algorithm") && e.getMessage().contains(G.describe())
                && e.getMessage().contains("batchwise.cudnn.workspaceLimit"), e.getMessage());
    }
}
