package io.batchwise.cudnn;

import io.batchwise.backend.Availability;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Probes once whether this machine can run the cuDNN backend and caches the answer: the CUDA preset's
 * classes and JNI natives, the NVIDIA driver, a CUDA device, then the cuBLAS, cuDNN and NVRTC
 * libraries (NVRTC by compiling a trivial kernel). A failure at any stage never crashes the caller: it becomes an {@link Availability} that
 * names the platform, what is missing and what to install or put on the path.
 *
 * <p>{@code -Dbatchwise.cudnn.disable=true} reports the backend unavailable without probing.
 */
final class CudnnAvailability {
    static final String CUDA_ARTIFACT = "org.bytedeco:cuda:13.1-9.19-1.5.13";
    /** Platforms the CUDA preset has natives for. */
    static final String CUDA_PLATFORMS = "linux-x86_64, linux-arm64 and windows-x86_64";

    /** What the probe was doing when it failed. */
    enum Stage { CLASSES, RUNTIME, DEVICE, CUDNN, CUBLAS, NVRTC }

    private static Availability cached;

    private CudnnAvailability() {
    }

    static synchronized Availability get() {
        if (cached == null) {
            cached = probe();
        }
        return cached;
    }

    private static Availability probe() {
        if (Boolean.getBoolean("batchwise.cudnn.disable")) {
            return Availability.no("disabled with -Dbatchwise.cudnn.disable=true");
        }
        String platform = platform();
        Probe probe = new Probe();
        try {
            return Availability.yes(probe.run() + " on " + platform);
        } catch (Unavailable e) {
            return Availability.no(e.getMessage() + " (platform " + platform + ")");
        } catch (LinkageError | RuntimeException e) {
            // UnsatisfiedLinkError, NoClassDefFoundError, ExceptionInInitializerError, TypeNotPresentException, ...
            return Availability.no(missingMessage(probe.stage, e, platform));
        }
    }

    /** The platform string JavaCPP uses for classifiers, e.g. {@code linux-x86_64}. */
    static String platform() {
        try {
            return org.bytedeco.javacpp.Loader.getPlatform();
        } catch (Throwable t) { // javacpp itself missing or broken: the JVM's own names
            return fallbackPlatform(System.getProperty("os.name"), System.getProperty("os.arch"));
        }
    }

    /** JavaCPP-style platform name from the JVM's {@code os.name} and {@code os.arch}. */
    static String fallbackPlatform(String osName, String osArch) {
        String os = osName == null ? "unknown" : osName.toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "unknown" : osArch.toLowerCase(Locale.ROOT);
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            os = "macosx";
        } else if (os.startsWith("windows")) {
            os = "windows";
        } else if (os.startsWith("linux")) {
            os = "linux";
        }
        if (arch.equals("amd64") || arch.equals("x86-64")) {
            arch = "x86_64";
        } else if (arch.equals("aarch64")) {
            arch = "arm64";
        }
        return os + "-" + arch;
    }

    private static final Pattern MISSING_LIBRARY = Pattern.compile("(lib[\\w.+-]+?\\.so(?:\\.\\d+)*)\\s*:\\s*cannot open shared object file");

    /** The first shared library the error chain says could not be opened, e.g. {@code libcuda.so.1}, or null. */
    static String missingLibrary(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            Matcher m = MISSING_LIBRARY.matcher(String.valueOf(t.getMessage()));
            if (m.find()) {
                return m.group(1);
            }
        }
        return null;
    }

    /**
     * What to tell the user when a stage failed with {@code error}: the error chain, the platform, and what
     * to add: the preset's jars, the driver, or which CUDA library (from the system or NVIDIA's wheels).
     */
    static String missingMessage(Stage stage, Throwable error, String platform) {
        // The root cause says what the loader could not find; the wrappers above it add only paths.
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String cause = root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
        String lib = missingLibrary(error);
        String what;
        if (!platform.equals("linux-x86_64") && !platform.equals("linux-arm64") && !platform.equals("windows-x86_64")) {
            what = "the CUDA preset has no natives for platform " + platform + " (it has " + CUDA_PLATFORMS + ")";
        } else if (stage == Stage.CLASSES || isMissingClass(error)) {
            what = "the CUDA preset is not on the class path: add " + CUDA_ARTIFACT + " and " + CUDA_ARTIFACT + " with classifier "
                    + platform;
        } else if (lib != null && lib.startsWith("libcuda.so")) {
            what = "no NVIDIA driver: " + lib + " (the driver's library) cannot be loaded; install the NVIDIA driver"
                    + " (CUDA 13 needs 580 or newer) and check that nvidia-smi sees a GPU";
        } else if (lib != null && lib.startsWith("libcudart")) {
            what = "the CUDA 13 runtime (" + lib + ") cannot be loaded: install the CUDA 13 toolkit or the nvidia-cuda-runtime"
                    + " wheel and put its lib folder on LD_LIBRARY_PATH";
        } else if (lib != null && lib.startsWith("libcublas")) {
            // Before cuDNN's branch: the preset's cudnn class loads cuBLAS first, so a missing libcublas.so.13
            // surfaces while loading cuDNN.
            what = cublas(lib);
        } else if (lib != null && lib.startsWith("libcudnn")) {
            what = cudnn(lib);
        } else if (lib != null && lib.startsWith("libnvrtc-builtins") || stage == Stage.NVRTC && isBuiltinsFailure(error)) {
            what = "NVRTC loads but cannot compile: its builtins library (" + (lib != null ? lib : "libnvrtc-builtins.so.13.x")
                    + ") is not found; it ships next to libnvrtc.so.13 (the nvidia-cuda-nvrtc wheel, or the CUDA 13 toolkit):"
                    + " put that folder on LD_LIBRARY_PATH";
        } else if (lib != null && lib.startsWith("libnvrtc")) {
            what = nvrtc(lib);
        } else if (lib == null && stage == Stage.CUDNN) {
            what = cudnn(null);
        } else if (lib == null && stage == Stage.CUBLAS) {
            what = cublas(null);
        } else if (lib == null && stage == Stage.NVRTC) {
            what = nvrtc(null);
        } else if (lib != null) {
            what = lib + " cannot be loaded: put the folder that holds it on LD_LIBRARY_PATH";
        } else {
            what = "the CUDA preset's natives could not be loaded: add " + CUDA_ARTIFACT + " with classifier " + platform
                    + " and check that the NVIDIA driver and the CUDA 13 runtime are installed";
        }
        return what + " (platform " + platform + "; " + cause + ")";
    }

    private static String cudnn(String lib) {
        return "cuDNN 9 for CUDA 13" + (lib != null ? " (" + lib + ")" : "") + " cannot be loaded: install it (the"
                + " nvidia-cudnn-cu13 wheel, or the libcudnn9-cuda-13 package) and put its lib folder on LD_LIBRARY_PATH";
    }

    private static String cublas(String lib) {
        return "cuBLAS for CUDA 13" + (lib != null ? " (" + lib + ")" : "") + " cannot be loaded: install it (the"
                + " nvidia-cublas wheel, or the CUDA 13 toolkit) and put its lib folder on LD_LIBRARY_PATH";
    }

    private static String nvrtc(String lib) {
        return "NVRTC for CUDA 13" + (lib != null ? " (" + lib + ")" : "") + " cannot be loaded: install it (the"
                + " nvidia-cuda-nvrtc wheel, or the CUDA 13 toolkit) and put its lib folder on LD_LIBRARY_PATH";
    }

    /** NVRTC_ERROR_BUILTIN_OPERATION_FAILURE: what a compile answers when libnvrtc-builtins cannot be loaded. */
    private static boolean isBuiltinsFailure(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (String.valueOf(t.getMessage()).contains("BUILTIN_OPERATION_FAILURE")) {
                return true;
            }
        }
        return false;
    }

    private static boolean isMissingClass(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if ((t instanceof NoClassDefFoundError || t instanceof ClassNotFoundException)
                    && String.valueOf(t.getMessage()).replace('.', '/').contains("org/bytedeco/cuda/")
                    && !String.valueOf(t.getMessage()).startsWith("Could not initialize")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The probe's NVRTC stage: loads NVRTC and compiles a trivial kernel, not just asks the version, since
     * libnvrtc loads without its builtins library and every compile then fails. Returns NVRTC's version.
     */
    static String nvrtcStage() {
        org.bytedeco.javacpp.Loader.load(org.bytedeco.cuda.global.nvrtc.class);
        return CudaKernels.checkCompiler();
    }

    /** A stage found what is missing without an exception (no device, an error code). */
    static final class Unavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unavailable(String message) {
            super(message);
        }
    }

    /** Everything that touches preset classes, kept apart so that a missing jar fails inside {@link #probe}. */
    private static final class Probe {
        Stage stage = Stage.CLASSES;

        String run() {
            stage = Stage.CLASSES;
            Class<?> cudart = org.bytedeco.cuda.global.cudart.class;
            stage = Stage.RUNTIME;
            org.bytedeco.javacpp.Loader.load(cudart);
            stage = Stage.DEVICE;
            String device = CudaDevice.probeDevice(0);
            // cuBLAS before cuDNN: the preset's cudnn class loads cuBLAS first.
            stage = Stage.CUBLAS;
            org.bytedeco.javacpp.Loader.load(org.bytedeco.cuda.global.cublas.class);
            stage = Stage.CUDNN;
            org.bytedeco.javacpp.Loader.load(org.bytedeco.cuda.global.cudnn.class);
            long v = org.bytedeco.cuda.global.cudnn.cudnnGetVersion();
            stage = Stage.NVRTC;
            String nvrtc = nvrtcStage();
            return device + ", cuDNN " + (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100) + ", NVRTC " + nvrtc;
        }
    }
}
