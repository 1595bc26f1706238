package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Dense;
import org.junit.jupiter.api.Test;

/**
 * What the backend says when it cannot run, checked on whatever machine runs the tests: the probe's
 * messages for each missing piece (from the errors JavaCPP really throws), the probe's answer here,
 * {@code Backends.get("cudnn")} failing with that answer, and {@code auto} falling back with it.
 */
class CudnnAvailabilityTest {

    /** The chain JavaCPP throws on a machine with the CUDA toolkit but no driver (seen on the development machine). */
    private static Throwable noDriver() {
        UnsatisfiedLinkError inner = new UnsatisfiedLinkError("/root/.javacpp/cache/cuda-13.1-9.19-1.5.13-linux-x86_64.jar/org/"
                + "bytedeco/cuda/linux-x86_64/libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory");
        UnsatisfiedLinkError outer = new UnsatisfiedLinkError("no jnicudart in java.library.path: /usr/lib");
        outer.initCause(inner);
        return outer;
    }

    @Test
    void noDriverSaysSoAndNamesThePlatform() {
        String m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.RUNTIME, noDriver(), "linux-x86_64");
        assertTrue(m.startsWith("no NVIDIA driver: libcuda.so.1"), m);
        assertTrue(m.contains("platform linux-x86_64"), m);
        assertTrue(m.contains("nvidia-smi"), m);
        assertEquals("libcuda.so.1", CudnnAvailability.missingLibrary(noDriver()));
    }

    @Test
    void missingCudaLibrariesNameTheirPackages() {
        Throwable cudnn = new ExceptionInInitializerError(new UnsatisfiedLinkError(
                "/tmp/libjnicudnn.so: libcudnn.so.9: cannot open shared object file: No such file or directory"));
        String m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.CUDNN, cudnn, "linux-x86_64");
        assertTrue(m.startsWith("cuDNN 9 for CUDA 13 (libcudnn.so.9)"), m);
        assertTrue(m.contains("nvidia-cudnn-cu13") && m.contains("LD_LIBRARY_PATH"), m);

        Throwable cublas = new UnsatisfiedLinkError("libjnicublas.so: libcublasLt.so.13: cannot open shared object file");
        m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.CUBLAS, cublas, "linux-arm64");
        assertTrue(m.startsWith("cuBLAS for CUDA 13 (libcublasLt.so.13)") && m.contains("nvidia-cublas"), m);
        assertTrue(m.contains("platform linux-arm64"), m);

        Throwable nvrtc = new UnsatisfiedLinkError("libjninvrtc.so: libnvrtc.so.13: cannot open shared object file");
        m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.NVRTC, nvrtc, "linux-x86_64");
        assertTrue(m.startsWith("NVRTC for CUDA 13 (libnvrtc.so.13)") && m.contains("nvidia-cuda-nvrtc"), m);

        Throwable runtime = new UnsatisfiedLinkError("libjnicudart.so: libcudart.so.13: cannot open shared object file");
        m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.RUNTIME, runtime, "linux-x86_64");
        assertTrue(m.startsWith("the CUDA 13 runtime (libcudart.so.13)"), m);
    }

    @Test
    void aMissingCublasWhileLoadingCudnnIsNamedAsCublas() {
        // The preset's cudnn class loads cuBLAS first: without libcublas.so.13 the cuDNN stage fails, naming it.
        Throwable t = new ExceptionInInitializerError(new UnsatisfiedLinkError(
                "/tmp/libjnicublas.so: libcublas.so.13: cannot open shared object file: No such file or directory"));
        String m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.CUDNN, t, "linux-x86_64");
        assertTrue(m.startsWith("cuBLAS for CUDA 13 (libcublas.so.13)") && m.contains("nvidia-cublas"), m);
        assertFalse(m.contains("cuDNN 9"), m);
        t = new UnsatisfiedLinkError("libjnicudnn.so: libcublasLt.so.13: cannot open shared object file");
        m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.CUDNN, t, "linux-x86_64");
        assertTrue(m.startsWith("cuBLAS for CUDA 13 (libcublasLt.so.13)"), m);
        // Without a library name the stage still decides.
        m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.CUDNN, new UnsatisfiedLinkError("no jnicudnn"), "linux-x86_64");
        assertTrue(m.startsWith("cuDNN 9 for CUDA 13 cannot be loaded"), m);
    }

    @Test
    void nvrtcWithoutItsBuiltinsSaysSo() {
        // What CudaKernels throws when a compile fails because libnvrtc-builtins cannot be loaded.
        RuntimeException e = CudaStatus.error(CudaStatus.Library.NVRTC, 7, "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
                "NVRTC compilation of probe.cu", -1, null);
        String m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.NVRTC, e, "linux-x86_64");
        assertTrue(m.startsWith("NVRTC loads but cannot compile: its builtins library (libnvrtc-builtins.so.13.x)"), m);
        assertTrue(m.contains("nvidia-cuda-nvrtc") && m.contains("LD_LIBRARY_PATH"), m);
    }

    @Test
    void missingPresetJarsNameTheArtifactAndClassifier() {
        Throwable t = new NoClassDefFoundError("org/bytedeco/cuda/global/cudart");
        String m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.CLASSES, t, "windows-x86_64");
        assertTrue(m.contains("add org.bytedeco:cuda:13.1-9.19-1.5.13 and org.bytedeco:cuda:13.1-9.19-1.5.13 with classifier"
                + " windows-x86_64"), m);
        Throwable jni = new UnsatisfiedLinkError("no jnicudart in java.library.path: /usr/lib");
        m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.RUNTIME, jni, "linux-x86_64");
        assertTrue(m.contains("with classifier linux-x86_64"), m);
    }

    @Test
    void platformsWithoutCudaNativesAreNamed() {
        String m = CudnnAvailability.missingMessage(CudnnAvailability.Stage.RUNTIME, new UnsatisfiedLinkError("no jnicudart"),
                "macosx-arm64");
        assertTrue(m.startsWith("the CUDA preset has no natives for platform macosx-arm64"), m);
        assertTrue(m.contains(CudnnAvailability.CUDA_PLATFORMS), m);
        assertEquals("linux-x86_64", CudnnAvailability.fallbackPlatform("Linux", "amd64"));
        assertEquals("macosx-arm64", CudnnAvailability.fallbackPlatform("Mac OS X", "aarch64"));
    }

    @Test
    void theProbeAnswersHereWithoutCrashingAndOnce() {
        Backend b = new CudnnBackend();
        Availability a = b.availability();
        assertSame(a, new CudnnBackend().availability(), "probed once");
        assertEquals("cudnn", b.name());
        assertEquals(20, b.priority());
        if (a.available()) {
            assertTrue(a.reason().contains("cuDNN 9.") && a.reason().contains("NVRTC 13."), a.reason());
        } else {
            assertFalse(a.reason().isBlank());
            assertTrue(a.reason().contains("platform " + CudnnAvailability.platform()), a.reason());
        }
    }

    @Test
    void withoutAGpuExplicitUseFailsWithTheReasonAndAutoFallsBack() {
        Availability a = new CudnnBackend().availability();
        if (a.available()) {
            assertEquals("cudnn", Backends.get("cudnn").name());
            assertEquals("cudnn", Backends.auto().backend().name());
            return;
        }
        var e = assertThrows(IllegalStateException.class, () -> Backends.get("cudnn"));
        assertEquals("backend 'cudnn' cannot run here: " + a.reason(), e.getMessage());
        Backends.Choice c = Backends.auto();
        assertEquals("onednn", c.backend().name(), c.reason());
        assertTrue(c.reason().contains("; skipped cudnn: " + a.reason()), c.reason());

        CudnnBackend b = new CudnnBackend();
        assertEquals(0, b.memory().liveBytes(), "an unavailable backend's tracker is idle, not an error");
        e = assertThrows(IllegalStateException.class, () -> b.allocate(Shape.of(4), DataType.FLOAT32));
        assertTrue(e.getMessage().contains(a.reason()), e.getMessage());
        Graph g = Graph.builder().input("x", Shape.of(3)).then("fc", new Dense(2)).build();
        e = assertThrows(IllegalStateException.class, () -> b.plan(g, 1, PlanOptions.forTraining()));
        assertTrue(e.getMessage().startsWith("backend 'cudnn' cannot run here"), e.getMessage());
    }

    @Test
    void aBackendWhoseCheckThrowsIsSkippedNotFatal() {
        Backend broken = new CudnnBackend(() -> {
            throw new AssertionError("never asked for a device");
        }, () -> {
            throw new UnsatisfiedLinkError("libcudnn_ops.so.9: undefined symbol");
        });
        Availability a = Backends.availability(broken);
        assertFalse(a.available());
        assertTrue(a.reason().contains("availability check failed") && a.reason().contains("undefined symbol"), a.reason());
        assertNotEquals("", a.reason());
    }
}
