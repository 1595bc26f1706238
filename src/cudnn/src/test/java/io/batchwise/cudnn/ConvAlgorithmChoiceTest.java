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
        assertEquals(2, CudaDevice.pick("forward", G, algos, status, det, math, mem, (a, m) -> 1024).algo());
    }

    @Test
    void withoutADeterministicCandidateTheFirstWorkingOneIsUsed() {
        assertEquals(0, CudaDevice.pick("backward filter", G, new int[] {0, 3}, new int[] {OK, OK}, new int[] {NONDET, NONDET},
                new int[] {FMA, FMA}, new long[] {0, 0}, (a, m) -> 0).algo());
    }

    @Test
    void noWorkingCandidateNamesTheDirectionAndTheShape() {
        var e = assertThrows(IllegalStateException.class, () -> CudaDevice.pick("backward data", G, new int[] {0, 1},
                new int[] {UNSUPPORTED, OK}, new int[] {DET, DET}, new int[] {FMA, FMA},
                new long[] {0, CudaDevice.WORKSPACE_LIMIT + 1}, (a, m) -> 0));
        assertTrue(e.getMessage().contains("no backward data algorithm") && e.getMessage().contains(G.describe())
                && e.getMessage().contains("batchwise.cudnn.workspaceLimit"), e.getMessage());
    }

    @Test
    void theDescriptorGetsTheChosenCandidateSMathTypeAndItsExactWorkspace() {
        int[] algos = {1, 5};
        int[] status = {OK, OK};
        int[] det = {NONDET, DET};
        int[] math = {FMA, TENSOR_OP};
        // No deterministic float32 candidate: the fallback takes algorithm 1, whose descriptor must get its own
        // math type; the workspace is the exact size query's answer for that algorithm and math type.
        java.util.List<String> asked = new java.util.ArrayList<>();
        CudaDevice.Candidate c = CudaDevice.pick("forward", G, algos, status, det, math, new long[] {0, 0}, (a, m) -> {
            asked.add(a + "/" + m);
            return 4096L * (a + 1);
        });
        assertEquals(new CudaDevice.Candidate(1, FMA, 8192), c);
        assertEquals(java.util.List.of("1/" + FMA), asked);
        // A tensor-op candidate chosen as the fallback keeps TENSOR_OP math (cuDNN may refuse it under FMA).
        c = CudaDevice.pick("forward", G, new int[] {5}, new int[] {OK}, new int[] {NONDET}, new int[] {TENSOR_OP},
                new long[] {0}, (a, m) -> 0);
        assertEquals(TENSOR_OP, c.math());
        // DEFAULT math allows TF32 on Ampere: without -Dbatchwise.cudnn.tf32 the descriptor gets FMA.
        assertEquals(FMA, CudaDevice.descriptorMath(0));
        assertEquals(TENSOR_OP, CudaDevice.descriptorMath(TENSOR_OP));
    }

    @Test
    void aCandidateWhoseExactWorkspaceExceedsTheLimitIsPassedOver() {
        // The heuristics' estimate fits, the exact size for algorithm 6 does not: algorithm 2 is taken.
        CudaDevice.Candidate c = CudaDevice.pick("backward data", G, new int[] {6, 2}, new int[] {OK, OK}, new int[] {DET, DET},
                new int[] {FMA, FMA}, new long[] {1024, 2048}, (a, m) -> a == 6 ? CudaDevice.WORKSPACE_LIMIT + 1 : 2048);
        assertEquals(new CudaDevice.Candidate(2, FMA, 2048), c);
        var e = assertThrows(IllegalStateException.class, () -> CudaDevice.pick("backward data", G, new int[] {6},
                new int[] {OK}, new int[] {DET}, new int[] {FMA}, new long[] {0}, (a, m) -> CudaDevice.WORKSPACE_LIMIT + 1));
        assertTrue(e.getMessage().contains("within a workspace of"), e.getMessage());
    }

    @Test
    void convAlgorithmsCarryEachDirectionSMathType() {
        ConvAlgorithms a = new ConvAlgorithms(1, 10, 2, 20, 3, 30, FMA, TENSOR_OP, FMA);
        assertEquals(TENSOR_OP, a.backwardDataMath());
        assertEquals(FMA, new ConvAlgorithms(1, 10, 2, 20, 3, 30).forwardMath());
    }

    /**
     * bf16 convolutions are searched under tensor-op math and may take a tensor-op candidate (its products are exact in
     * the float32 accumulator: the reason float32 plans refuse it, TF32's rounding of the inputs, does not apply);
     * determinism is still required first.
     */
    @Test
    void bf16TakesTheFirstDeterministicTensorOpCandidate() {
        ConvGeometry b = new ConvGeometry(8, 3, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 28, 28, io.batchwise.DataType.BFLOAT16);
        assertEquals(TENSOR_OP, CudaDevice.searchMath(b));
        assertEquals(FMA, CudaDevice.searchMath(G));
        int[] algos = {1, 2, 0};
        int[] status = {OK, OK, OK};
        int[] det = {NONDET, DET, DET};
        int[] math = {TENSOR_OP, TENSOR_OP, FMA};
        CudaDevice.Candidate c = CudaDevice.pick("forward", b, algos, status, det, math, new long[] {0, 0, 0}, (a, m) -> 0);
        assertEquals(new CudaDevice.Candidate(2, TENSOR_OP, 0), c);
        // The same candidates for float32: the deterministic FMA one.
        assertEquals(0, CudaDevice.pick("forward", G, algos, status, det, math, new long[] {0, 0, 0}, (a, m) -> 0).algo());
    }
}
