package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.DeviceOutOfMemoryException;
import org.junit.jupiter.api.Test;

/** Out-of-memory codes of every library become the exception the trainer recovers from; other codes say what failed. */
class CudaStatusTest {

    @Test
    void outOfMemoryFromEveryLibraryFeedsTheTrainersRecovery() {
        Object[][] oom = {
            {CudaStatus.Library.CUDA_RUNTIME, 2}, {CudaStatus.Library.CUDA_DRIVER, 2}, {CudaStatus.Library.CUDNN, 4003},
            {CudaStatus.Library.CUDNN, 4004}, {CudaStatus.Library.CUBLAS, 3}, {CudaStatus.Library.NVRTC, 1}};
        for (Object[] c : oom) {
            var lib = (CudaStatus.Library) c[0];
            int code = (Integer) c[1];
            assertTrue(CudaStatus.outOfMemory(lib, code), lib + " " + code);
            RuntimeException e = CudaStatus.error(lib, code, "out of memory", "cudaMalloc of 1,024 bytes for the step arena", 1024,
                    "1.0 GiB free of 80.0 GiB");
            DeviceOutOfMemoryException d = assertInstanceOf(DeviceOutOfMemoryException.class, e);
            assertEquals(1024, d.requestedBytes());
            assertTrue(d.getMessage().contains(lib.display + " error " + code), d.getMessage());
            assertTrue(d.getMessage().contains("the step arena") && d.getMessage().contains("1.0 GiB free"), d.getMessage());
        }
    }

    @Test
    void otherFailuresNameTheLibraryTheCodeAndTheCall() {
        assertFalse(CudaStatus.outOfMemory(CudaStatus.Library.CUDNN, 3000));
        assertFalse(CudaStatus.outOfMemory(CudaStatus.Library.CUBLAS, 2));
        RuntimeException e = CudaStatus.error(CudaStatus.Library.CUDNN, 3000, "CUDNN_STATUS_NOT_SUPPORTED", "conv1 forward", -1, null);
        assertInstanceOf(IllegalStateException.class, e);
        assertEquals("cuDNN error 3000 (CUDNN_STATUS_NOT_SUPPORTED) in conv1 forward", e.getMessage());
        assertEquals("cuBLAS error 7 in fc backward data",
                CudaStatus.error(CudaStatus.Library.CUBLAS, 7, null, "fc backward data", -1, null).getMessage());
    }
}
