package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real NVIDIA libraries without a GPU: NVIDIA's wheels (nvidia-cuda-runtime, nvidia-cuda-nvrtc,
 * nvidia-cudnn-cu13, nvidia-cublas), unpacked under {@code .whl/} by {@code src/cudnn/install-wheels.sh}
 * (which {@code .ci/run} calls), and a stub {@code libcuda.so.1} built here with gcc so that the preset's
 * JNI libraries load. Each check runs {@link NvidiaLibrariesCheck} in a JVM of its own, since the loader
 * reads {@code LD_LIBRARY_PATH} at start-up (and the stub driver must not leak into the other tests).
 *
 * <p>Without the wheels the tests are skipped with the reason, except under CI ({@code CI=true}),
 * where they fail: CI installs the wheels, so their absence there is a broken install, not a choice.
 */
class NvidiaLibrariesTest {
    private static final boolean CI = "true".equalsIgnoreCase(System.getenv("CI"));

    @TempDir
    static Path tmp;
    private static List<Path> libDirs;
    private static Path stubDir;
    /** Why the check cannot run here, or null. */
    private static String missing;

    /** Each test first: fails under CI, is skipped with the reason elsewhere, when the libraries or gcc are missing. */
    private static void requireLibraries() {
        if (missing == null) {
            return;
        }
        if (CI) {
            fail(missing + " (CI=true: .ci/run installs them with src/cudnn/install-wheels.sh)");
        }
        Assumptions.abort(missing + "; src/cudnn/install-wheels.sh installs them");
    }

    /** The wheels' library folders ({@code .whl/nvidia/STAR/lib}). */
    private static List<Path> wheelLibraries() throws IOException {
        Path root = Path.of(System.getProperty("batchwise.wheels", "../../.whl"));
        Path nvidia = root.resolve("nvidia");
        if (!Files.isDirectory(nvidia)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(nvidia)) {
            return s.map(p -> p.resolve("lib")).filter(Files::isDirectory).sorted().collect(Collectors.toList());
        }
    }

    @BeforeAll
    static void wheelsAndStubDriver() throws Exception {
        libDirs = wheelLibraries();
        for (String lib : List.of("libcudart.so.13", "libnvrtc.so.13", "libnvrtc-builtins.so.13.0", "libcudnn.so.9",
                "libcublas.so.13", "libcublasLt.so.13")) {
            // libnvrtc-builtins is versioned by NVRTC's minor version: any 13.x will do.
            String prefix = lib.replace(".13.0", ".13.");
            boolean found = false;
            for (Path d : libDirs) {
                try (Stream<Path> s = Files.list(d)) {
                    found |= s.anyMatch(p -> p.getFileName().toString().equals(lib) || p.getFileName().toString().startsWith(prefix));
                }
            }
            if (!found) {
                missing = "NVIDIA's wheel libraries are not installed: " + lib + " is not under "
                        + System.getProperty("batchwise.wheels", "../../.whl") + "/nvidia/*/lib";
                return;
            }
        }
        // The driver is absent: a library named libcuda.so.1 with no driver function lets libjnicudart load (lazy
        // binding); any call that needs a device would stop the check's JVM with a symbol lookup error.
        stubDir = Files.createDirectories(tmp.resolve("driver"));
        Path c = stubDir.resolve("stub.c");
        Files.writeString(c, "int batchwise_stub_driver(void) { return 100; /* CUDA_ERROR_NO_DEVICE */ }\n");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o",
                    stubDir.resolve("libcuda.so.1").toString(), c.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            missing = "gcc is needed to build the stub libcuda.so.1: " + e.getMessage();
            return;
        }
        String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, gcc.waitFor(), "gcc: " + out);
    }

    /** Runs {@link NvidiaLibrariesCheck} with {@code dirs} (and the stub driver) on LD_LIBRARY_PATH; its output. */
    private static String check(List<Path> dirs, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), NvidiaLibrariesCheck.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        List<String> path = new ArrayList<>(List.of(stubDir.toString()));
        dirs.forEach(d -> path.add(d.toAbsolutePath().toString()));
        pb.environment().put("LD_LIBRARY_PATH", String.join(":", path));
        Process p = pb.start();
        // Read while it runs (a full pipe would block it); the compile takes seconds, five minutes is a hang.
        var reader = new java.util.concurrent.CompletableFuture<String>();
        Thread t = new Thread(() -> {
            try {
                reader.complete(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                reader.completeExceptionally(e);
            }
        });
        t.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("the device check did not finish in 5 minutes");
        }
        String out = reader.get(1, TimeUnit.MINUTES);
        System.out.println(out);
        assertEquals(0, p.exitValue(), "the device check failed (exit " + p.exitValue() + "):\n" + out);
        return out;
    }

    @Test
    void kernelsCompileAndDescriptorsAreMadeWithTheRealLibraries() throws Exception {
        requireLibraries();
        Path cache = Files.createDirectories(tmp.resolve("kernel-cache"));
        String out = check(libDirs, "check", cache.toString());
        assertTrue(out.contains("device check passed"), out);
        for (String arch : List.of("sm_80", "sm_90")) {
            for (String f : KernelSources.FILES) {
                assertTrue(out.contains("compiled " + f + " for " + arch + ":"), f + " for " + arch + "\n" + out);
            }
        }
        try (Stream<Path> s = Files.list(cache)) {
            // Three architectures (two when the newest is sm_90) times three files, each cached once.
            assertTrue(s.filter(p -> p.toString().endsWith(".cubin")).count() >= 2L * KernelSources.FILES.size(), out);
        }
    }

    @Test
    void theProbeFindsAMissingNvrtcBuiltinsLibrary() throws Exception {
        requireLibraries();
        // libnvrtc.so.13 alone (a link, so NVRTC looks for its builtins in this folder): it loads, answers its
        // version, and every compile fails with NVRTC_ERROR_BUILTIN_OPERATION_FAILURE.
        Path alone = Files.createDirectories(tmp.resolve("nvrtc-alone"));
        for (Path d : libDirs) {
            if (Files.exists(d.resolve("libnvrtc.so.13"))) {
                Files.createSymbolicLink(alone.resolve("libnvrtc.so.13"), d.resolve("libnvrtc.so.13").toAbsolutePath());
            }
        }
        String out = check(List.of(alone), "probe-nvrtc");
        assertTrue(out.contains("compiler failed: NVRTC loads but cannot compile: its builtins library"), out);
        assertTrue(out.contains("nvidia-cuda-nvrtc"), out);

        out = check(libDirs, "probe-nvrtc");
        assertTrue(out.contains("compiler ok: NVRTC 13."), out);
    }
}
