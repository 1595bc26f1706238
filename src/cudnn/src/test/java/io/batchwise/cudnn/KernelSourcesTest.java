package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Pass;
import io.batchwise.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The kernel sources need no device to be checked: the jar packs exactly native/cuda, every kernel the
 * backend launches exists with the parameter types the launcher passes (and no kernel is unknown to
 * it), and the NVRTC options and cache keys are what the compile step relies on.
 */
class KernelSourcesTest {

    private static Path nativeCuda() {
        String p = System.getProperty("batchwise.nativeCuda");
        if (p != null) {
            return Path.of(p);
        }
        return Files.isDirectory(Path.of("native/cuda")) ? Path.of("native/cuda") : Path.of("../../native/cuda");
    }

    @Test
    void theJarPacksExactlyTheFilesOfNativeCuda() throws IOException {
        Set<String> onDisk;
        try (Stream<Path> s = Files.list(nativeCuda())) {
            onDisk = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(onDisk, new TreeSet<>(KernelSources.FILES), "KernelSources.FILES must list every native/cuda/*.cu");
        for (String f : KernelSources.FILES) {
            assertEquals(Files.readString(nativeCuda().resolve(f)), KernelSources.read(f), f + " in the jar");
        }
        assertEquals(Files.readString(nativeCuda().resolve(KernelSources.HEADER)), KernelSources.read(KernelSources.HEADER));
    }

    @Test
    void everyLaunchedKernelExistsWithTheLauncherSParameterTypes() {
        Map<String, List<Kernel.Arg>> parsed = new HashMap<>();
        Map<String, String> fileOf = new HashMap<>();
        for (String f : KernelSources.FILES) {
            KernelSources.kernels(KernelSources.read(f)).forEach((name, args) -> {
                parsed.put(name, args);
                fileOf.put(name, f);
            });
        }
        for (Kernel k : Kernel.values()) {
            assertEquals(k.file, fileOf.get(k.symbol), k.symbol + " is defined in " + k.file);
            assertEquals(k.args, parsed.get(k.symbol), k.symbol + ": the C parameters and the launcher's types");
        }
        Set<String> known = Stream.of(Kernel.values()).map(k -> k.symbol).collect(Collectors.toSet());
        assertEquals(known, parsed.keySet(), "every kernel in native/cuda has a Kernel constant");
    }

    @Test
    void parameterTypesAreReadFromTheirDeclarations() {
        assertEquals(Kernel.Arg.PTR, KernelSources.argType("const float* x", "k"));
        assertEquals(Kernel.Arg.PTR, KernelSources.argType("double *partials", "k"));
        assertEquals(Kernel.Arg.I64, KernelSources.argType("long long n", "k"));
        assertEquals(Kernel.Arg.U64, KernelSources.argType("unsigned long long nodeKey", "k"));
        assertEquals(Kernel.Arg.I32, KernelSources.argType("int classes", "k"));
        assertEquals(Kernel.Arg.F64, KernelSources.argType("double scale", "k"));
        var e = assertThrows(IllegalArgumentException.class, () -> KernelSources.argType("size_t n", "my_kernel"));
        assertTrue(e.getMessage().contains("my_kernel") && e.getMessage().contains("size_t"), e.getMessage());
        assertEquals(Map.of("f", List.of(Kernel.Arg.I64, Kernel.Arg.PTR)),
                KernelSources.kernels("BW_KERNEL void f(long long n,\n    float* y) { }"));
    }

    @Test
    void nvrtcOptionsTargetTheDeviceWithoutFastMath() {
        // NVRTC's spelling: nvcc's --gpu-arch is refused by NVRTC with NVRTC_ERROR_INVALID_OPTION.
        List<String> cubin = KernelSources.options(new KernelSources.Target(90, true));
        assertEquals("--gpu-architecture=sm_90", cubin.get(0), cubin.toString());
        assertTrue(cubin.stream().noneMatch(o -> o.startsWith("--gpu-arch=")), cubin.toString());
        assertEquals("--gpu-architecture=compute_120", KernelSources.options(new KernelSources.Target(120, false)).get(0));
        assertTrue(cubin.stream().noneMatch(o -> o.contains("fast-math") || o.contains("fast_math")), cubin.toString());
    }

    @Test
    void aCubinForAKnownArchitectureElsePtxForTheNewestOneBelowTheDevice() {
        int[] nvrtc130 = {75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121};
        assertEquals(new KernelSources.Target(90, true), KernelSources.target(9, 0, nvrtc130));
        assertEquals(new KernelSources.Target(86, true), KernelSources.target(8, 6, nvrtc130));
        // A device newer than NVRTC (its driver is newer too, so it JIT-compiles PTX for it): the newest known below.
        assertEquals(new KernelSources.Target(121, false), KernelSources.target(13, 0, nvrtc130));
        assertEquals(new KernelSources.Target(121, false), KernelSources.target(12, 2, nvrtc130));
        assertEquals(new KernelSources.Target(110, false), KernelSources.target(11, 5, nvrtc130));
        var e = assertThrows(IllegalStateException.class, () -> KernelSources.target(7, 0, nvrtc130));
        assertTrue(e.getMessage().contains("compute capability 7.0"), e.getMessage());
    }

    @Test
    void headerArraysHoldPointersToTheStringsNotTheirBytes() {
        // new PointerPointer<>(new BytePointer(s)) picks the cast constructor PointerPointer(Pointer): NVRTC then
        // reads the string's bytes as pointers (a SIGSEGV in nvrtcCreateProgram).
        try (org.bytedeco.javacpp.PointerPointer<org.bytedeco.javacpp.BytePointer> p = CudaKernels.strings("abcdefgh", "batchwise.cuh")) {
            assertEquals(2, p.limit());
            assertEquals("abcdefgh", p.getString(0));
            assertEquals("batchwise.cuh", p.getString(1));
        }
    }

    @Test
    void cacheKeysChangeWithEveryInput() {
        List<String> o = KernelSources.options(new KernelSources.Target(90, true));
        String k = KernelSources.cacheKey("nvrtc 13.0", o, "h", "s");
        assertEquals(64, k.length());
        assertEquals(k, KernelSources.cacheKey("nvrtc 13.0", o, "h", "s"));
        assertNotEquals(k, KernelSources.cacheKey("nvrtc 13.1", o, "h", "s"));
        assertNotEquals(k, KernelSources.cacheKey("nvrtc 13.0", KernelSources.options(new KernelSources.Target(80, true)), "h", "s"));
        assertNotEquals(k, KernelSources.cacheKey("nvrtc 13.0", o, "h2", "s"));
        assertNotEquals(k, KernelSources.cacheKey("nvrtc 13.0", o, "h", "s2"));
        assertNotEquals(KernelSources.cacheKey("v", o, "ab", "c"), KernelSources.cacheKey("v", o, "a", "bc"), "no ambiguous joins");
    }

    @Test
    void launchesAreCheckedAgainstTheKernelSTypes() {
        var ptr = new KernelCall.Ptr(256);
        new KernelCall(Kernel.VEC_FILL, 10, new Object[] {10L, 1f, ptr});
        var e = assertThrows(IllegalArgumentException.class, () -> new KernelCall(Kernel.VEC_FILL, 10, new Object[] {10, 1f, ptr}));
        assertTrue(e.getMessage().contains("vec_fill argument 0 must be long long"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new KernelCall(Kernel.VEC_FILL, 10, new Object[] {10L, ptr}));
        assertTrue(e.getMessage().contains("takes 3 arguments"), e.getMessage());
        assertEquals(1, KernelCall.blocks(1));
        assertEquals(2, KernelCall.blocks(Kernel.BLOCK + 1));
        assertEquals(65_535, KernelCall.blocks(1L << 40));
    }

    @Test
    void dropoutLaunchesCarryTheJavaMaskKey() {
        CudnnBuffer mask = new CudnnBuffer(0, "d.mask", Shape.of(3, 4), io.batchwise.DataType.FLOAT32, 48, null, null, 0);
        var op = new CudnnOp.DropoutMask("d mask", "drop", 0.25f, 3, 4, mask);
        KernelCall c = KernelCall.of(op, new long[] {4096}, new CudnnDevice.Run(Pass.training(77, 5), GradientMode.OVERWRITE, 0));
        assertEquals(Kernel.DROPOUT_MASK, c.kernel());
        assertEquals(12L, c.args()[0]);
        assertEquals(io.batchwise.layer.DropoutMask.nodeKey(77, "drop"), c.args()[2]);
        assertEquals(5L, c.args()[3]);
        assertEquals(1f / 0.75f, (Float) c.args()[5], 1e-7f);
        assertEquals(new KernelCall.Ptr(4096), c.args()[6]);
    }
}
