package io.batchwise.cudnn;

import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.nvrtc.NVRTC_SUCCESS;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetErrorString;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetNumSupportedArchs;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetSupportedArchs;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetPTX;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetPTXSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernels of {@code native/cuda}, compiled with NVRTC for the device on first use and launched with
 * {@code cuLaunchKernel} on the default stream (after cuDNN's and cuBLAS's calls, in order).
 *
 * <p>Compilation: one NVRTC program per kernel file with {@code batchwise.cuh} as an in-memory header,
 * to a cubin for the device's {@code sm_XY} (PTX for the newest architecture NVRTC knows below the device
 * when NVRTC does not know it: {@link KernelSources#target}).
 * The result is cached in memory for the process and on disk under
 * {@code ~/.cache/batchwise/cuda} (or {@code -Dbatchwise.cuda.cache=DIR}), keyed by
 * {@link KernelSources#cacheKey} over NVRTC's version, the options and the sources, so a later process
 * loads the module without compiling. An unwritable cache directory only costs the compile.
 */
final class CudaKernels {
    private static final Logger LOG = LoggerFactory.getLogger(CudaKernels.class);

    private final Map<Kernel, CUfunc_st> functions = new EnumMap<>(Kernel.class);
    private final Map<String, CUmod_st> modules = new HashMap<>();

    /** Compiles (or loads from the cache) every kernel file for a device of compute capability {@code major.minor}. */
    CudaKernels(int major, int minor) {
        KernelSources.Target target = KernelSources.target(major, minor, supportedArchs());
        if (!target.cubin()) {
            LOG.info("cudnn: NVRTC {} does not know sm_{}{}: compiling PTX for {}, which the driver compiles for the device",
                    nvrtcVersion(), major, minor, target.option());
        }
        for (String file : KernelSources.FILES) {
            byte[] image = compile(file, target);
            CUmod_st module = new CUmod_st();
            try (BytePointer data = new BytePointer(image.length + 1)) {
                data.put(image, 0, image.length).put(image.length, (byte) 0); // PTX must end in NUL; a cubin ignores it
                CudaDevice.checkDriver(cuModuleLoadData(module, data), "cuModuleLoadData of " + file);
            }
            module.retainReference();
            modules.put(file, module);
        }
        for (Kernel k : Kernel.values()) {
            CUfunc_st f = new CUfunc_st();
            CudaDevice.checkDriver(cuModuleGetFunction(f, modules.get(k.file), k.symbol),
                    "cuModuleGetFunction of " + k.symbol + " in " + k.file);
            f.retainReference();
            functions.put(k, f);
        }
    }

    /** NVRTC's version, e.g. {@code 13.0}. */
    static String nvrtcVersion() {
        try (IntPointer major = new IntPointer(1); IntPointer minor = new IntPointer(1)) {
            check(org.bytedeco.cuda.global.nvrtc.nvrtcVersion(major, minor), "nvrtcVersion", null);
            return major.get() + "." + minor.get();
        }
    }

    /** The architectures this NVRTC compiles for ({@code 10 * major + minor}, ascending), from {@code nvrtcGetSupportedArchs}. */
    static int[] supportedArchs() {
        try (IntPointer n = new IntPointer(1)) {
            check(nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs", null);
            try (IntPointer archs = new IntPointer(Math.max(1, n.get()))) {
                check(nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs", null);
                int[] a = new int[n.get()];
                archs.get(a);
                return a;
            }
        }
    }

    /**
     * Compiles a trivial kernel for the newest architecture NVRTC supports and returns NVRTC's version:
     * loading {@code libnvrtc.so} succeeds without NVRTC's builtins library ({@code libnvrtc-builtins.so.13.x}),
     * which every compile needs, so only a compile shows that NVRTC works.
     */
    static String checkCompiler() {
        String version = nvrtcVersion();
        int[] archs = supportedArchs();
        if (archs.length == 0) {
            throw new IllegalStateException("NVRTC " + version + " supports no GPU architecture");
        }
        KernelSources.Target newest = new KernelSources.Target(archs[archs.length - 1], false);
        nvrtc("probe.cu", "extern \"C\" __global__ void batchwise_probe(float* x) { x[threadIdx.x] = 1.0f; }\n", null,
                KernelSources.options(newest), false);
        return version;
    }

    /**
     * One kernel file compiled for {@code target}, through the on-disk cache. Every NVRTC error throws with
     * NVRTC's log: {@link KernelSources#target} already chose an architecture NVRTC supports, so a refused
     * option is a real error, not a cue to retry.
     */
    static byte[] compile(String file, KernelSources.Target target) {
        String header = KernelSources.read(KernelSources.HEADER);
        String source = KernelSources.read(file);
        String version = nvrtcVersion();
        List<String> options = KernelSources.options(target);
        String key = KernelSources.cacheKey("nvrtc " + version, options, header, source);
        Path cached = cacheDir().resolve(key + (target.cubin() ? ".cubin" : ".ptx"));
        try {
            if (Files.isRegularFile(cached)) {
                return Files.readAllBytes(cached);
            }
        } catch (IOException | SecurityException e) {
            LOG.debug("kernel cache {} unreadable: {}", cached, e.toString());
        }
        long t0 = System.nanoTime();
        byte[] image = nvrtc(file, source, header, options, target.cubin());
        LOG.debug("NVRTC compiled {} with {} in {} ms", file, options, (System.nanoTime() - t0) / 1_000_000);
        store(cached, image);
        return image;
    }

    /**
     * An array of C strings for NVRTC's {@code const char* const*} parameters. Not
     * {@code new PointerPointer<>(new BytePointer(s))}: with one argument Java picks JavaCPP's cast
     * constructor {@code PointerPointer(Pointer)}, which reinterprets the string's bytes as pointers.
     */
    static PointerPointer<BytePointer> strings(String... values) {
        BytePointer[] p = new BytePointer[values.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = new BytePointer(values[i]);
        }
        return new PointerPointer<>(p);
    }

    /** Compiles one file ({@code header}, when not null, as the in-memory {@link KernelSources#HEADER}). */
    private static byte[] nvrtc(String file, String source, String header, List<String> options, boolean cubin) {
        try (PointerScope scope = new PointerScope()) {
            _nvrtcProgram program = new _nvrtcProgram();
            PointerPointer<BytePointer> headers = header == null ? null : strings(header);
            PointerPointer<BytePointer> names = header == null ? null : strings(KernelSources.HEADER);
            check(nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(file), header == null ? 0 : 1, headers,
                    names), "nvrtcCreateProgram of " + file, null);
            try {
                int status = nvrtcCompileProgram(program, options.size(), strings(options.toArray(new String[0])));
                check(status, "NVRTC compilation of " + file + " with " + options, log(program));
                SizeTPointer size = new SizeTPointer(1);
                if (cubin) {
                    check(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize", null);
                } else {
                    check(nvrtcGetPTXSize(program, size), "nvrtcGetPTXSize", null);
                }
                BytePointer out = new BytePointer(size.get());
                check(cubin ? nvrtcGetCUBIN(program, out) : nvrtcGetPTX(program, out), "reading the compiled " + file, null);
                byte[] image = new byte[(int) size.get()];
                out.get(image);
                if (!cubin && image.length > 0 && image[image.length - 1] == 0) {
                    image = java.util.Arrays.copyOf(image, image.length - 1);
                }
                return image;
            } finally {
                nvrtcDestroyProgram(program);
            }
        }
    }

    private static String log(_nvrtcProgram program) {
        SizeTPointer size = new SizeTPointer(1);
        if (nvrtcGetProgramLogSize(program, size) != NVRTC_SUCCESS || size.get() <= 1) {
            return null;
        }
        BytePointer log = new BytePointer(size.get());
        return nvrtcGetProgramLog(program, log) == NVRTC_SUCCESS ? log.getString().trim() : null;
    }

    private static void check(int status, String what, String log) {
        if (status != NVRTC_SUCCESS) {
            RuntimeException e = CudaStatus.error(CudaStatus.Library.NVRTC, status, nvrtcGetErrorString(status).getString(), what,
                    -1, null);
            if (log != null && !log.isEmpty() && e instanceof IllegalStateException) {
                throw new IllegalStateException(e.getMessage() + ":\n" + log);
            }
            throw e;
        }
    }

    static Path cacheDir() {
        String dir = System.getProperty("batchwise.cuda.cache");
        return dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "batchwise", "cuda");
    }

    private static void store(Path file, byte[] image) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.write(tmp, image);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            LOG.debug("kernel cache {} not written: {}", file, e.toString());
        }
    }

    /**
     * Launches {@code call} on the default stream: {@link KernelCall#blocks} blocks of {@link Kernel#BLOCK}
     * threads. Each argument is copied to its own native cell; cuLaunchKernel copies the values before it
     * returns, so the cells are freed right after.
     */
    void launch(KernelCall call, String label) {
        CUfunc_st f = functions.get(call.kernel());
        try (PointerScope scope = new PointerScope()) {
            Object[] args = call.args();
            Pointer[] cells = new Pointer[args.length];
            for (int i = 0; i < args.length; i++) {
                Object v = args[i];
                if (v instanceof KernelCall.Ptr p) {
                    cells[i] = new LongPointer(1).put(p.address());
                } else if (v instanceof Long l) {
                    cells[i] = new LongPointer(1).put(l);
                } else if (v instanceof Integer n) {
                    cells[i] = new IntPointer(1).put(n);
                } else if (v instanceof Float x) {
                    cells[i] = new FloatPointer(1).put(x);
                } else {
                    cells[i] = new DoublePointer(1).put((Double) v);
                }
            }
            int blocks = KernelCall.blocks(call.threads());
            CudaDevice.checkDriver(cuLaunchKernel(f, blocks, 1, 1, Kernel.BLOCK, 1, 1, 0, null, new PointerPointer<>(cells),
                    null), "launching " + call.kernel().symbol + " for " + label);
        }
    }

    /** The number of kernel files compiled (for the device's description). */
    int modules() {
        return modules.size();
    }
}
