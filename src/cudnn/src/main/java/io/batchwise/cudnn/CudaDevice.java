package io.batchwise.cudnn;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.cuCtxGetCurrent;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuGetErrorName;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cudaDevAttrComputeCapabilityMajor;
import static org.bytedeco.cuda.global.cudart.cudaDevAttrComputeCapabilityMinor;
import static org.bytedeco.cuda.global.cudart.cudaDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorName;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaGetLastError;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemset;
import static org.bytedeco.cuda.global.cudart.cudaRuntimeGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudnn.*;

import io.batchwise.DataType;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.plan.Budget;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GPU: device 0 through the CUDA runtime, one cuDNN and one cuBLAS handle, and the kernels of
 * {@code native/cuda}. Every call goes to the default stream, so cuDNN, cuBLAS, kernels and copies run
 * in the order they are issued; {@link #synchronize} waits and reports a failure among them.
 *
 * <p>Numerics: convolutions use {@code CUDNN_FMA_MATH} and cuBLAS its default math, so float32 stays
 * float32 (no TF32 tensor cores, whose 10-bit mantissa misses the reference backend's tolerance);
 * {@code -Dbatchwise.cudnn.tf32=true} allows TF32 for speed. Only deterministic convolution
 * algorithms are chosen, so the same step gives the same bits.
 *
 * <p>Life cycle: one instance per process, made on first use after {@link CudnnAvailability} said yes,
 * kept until the process ends (the handles and the CUDA context go with it). Not thread-safe: one
 * thread drives it at a time (each call makes the device's context current on its thread).
 */
final class CudaDevice implements CudnnDevice {
    private static final Logger LOG = LoggerFactory.getLogger(CudaDevice.class);
    static final MemoryTracker TRACKER = new MemoryTracker();
    /** The largest workspace one convolution call may take (bytes); -Dbatchwise.cudnn.workspaceLimit overrides. */
    static final long WORKSPACE_LIMIT = Long.getLong("batchwise.cudnn.workspaceLimit", 512L << 20);
    private static final boolean TF32 = Boolean.getBoolean("batchwise.cudnn.tf32");

    private static CudaDevice instance;

    private final int ordinal;
    private final String description;
    private final int major;
    private final int minor;
    private final CUctx_st context;
    private final cudnnContext cudnn;
    private final cublasContext cublas;
    private final FloatPointer one;
    private final FloatPointer zero;
    private volatile CudaKernels kernels;
    private final Map<ConvGeometry, ConvAlgorithms> algorithms = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> entered = new ThreadLocal<>();

    /** The device; throws with the reason when the backend cannot run here. */
    static synchronized CudaDevice get() {
        if (instance == null) {
            var a = CudnnAvailability.get();
            if (!a.available()) {
                throw new IllegalStateException("backend 'cudnn' cannot run here: " + a.reason());
            }
            instance = new CudaDevice(0, a.reason());
        }
        return instance;
    }

    private CudaDevice(int ordinal, String description) {
        this.ordinal = ordinal;
        this.description = description;
        checkRuntime(cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
        checkRuntime(cudaFree(null), "initialising the CUDA context"); // makes the primary context current here
        checkDriver(cuInit(0), "cuInit");
        CUctx_st current = new CUctx_st();
        checkDriver(cuCtxGetCurrent(current), "cuCtxGetCurrent");
        if (current.isNull()) {
            // The runtime did not leave its primary context current for the driver API: retain it ourselves.
            try (IntPointer dev = new IntPointer(1)) {
                checkDriver(cuDeviceGet(dev, ordinal), "cuDeviceGet");
                current = new CUctx_st();
                checkDriver(cuDevicePrimaryCtxRetain(current, dev.get()), "cuDevicePrimaryCtxRetain");
            }
            checkDriver(cuCtxSetCurrent(current), "cuCtxSetCurrent");
        }
        this.context = current;
        context.retainReference();
        this.major = attribute(cudaDevAttrComputeCapabilityMajor, ordinal);
        this.minor = attribute(cudaDevAttrComputeCapabilityMinor, ordinal);
        this.cudnn = new cudnnContext();
        checkCudnn(cudnnCreate(cudnn), "cudnnCreate");
        cudnn.retainReference();
        this.cublas = new cublasContext();
        checkCublas(cublasCreate_v2(cublas), "cublasCreate");
        cublas.retainReference();
        checkCublas(cublasSetMathMode(cublas, TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
        this.one = new FloatPointer(1);
        one.put(1f).retainReference();
        this.zero = new FloatPointer(1);
        zero.put(0f).retainReference();
        entered.set(Boolean.TRUE);
        LOG.info("cudnn: {}", description);
    }

    /** Makes the device's context current on the calling thread (once per thread). */
    private void enter() {
        if (entered.get() == null) {
            checkRuntime(cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
            checkDriver(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            entered.set(Boolean.TRUE);
        }
    }

    private CudaKernels kernels() {
        CudaKernels k = kernels;
        if (k == null) {
            synchronized (this) {
                k = kernels;
                if (k == null) {
                    long t0 = System.nanoTime();
                    k = new CudaKernels(major, minor);
                    LOG.info("cudnn: {} kernel modules of native/cuda ready for sm_{}{} in {} ms", k.modules(), major, minor,
                            (System.nanoTime() - t0) / 1_000_000);
                    kernels = k;
                }
            }
        }
        return k;
    }

    /** Queues one kernel launch (CudnnVectors; the tests compare every kernel with its Java port this way). */
    @Override
    public void launch(KernelCall call, String label) {
        enter();
        kernels().launch(call, label);
    }

    // ---------------------------------------------------------------- probing and errors

    /** The device's name, compute capability, memory and the CUDA versions; {@link CudnnAvailability.Unavailable} without one. */
    static String probeDevice(int ordinal) {
        try (IntPointer count = new IntPointer(1)) {
            int st = cudaGetDeviceCount(count);
            if (st != 0) {
                throw new CudnnAvailability.Unavailable("no usable CUDA device: cudaGetDeviceCount returned " + st + " ("
                        + runtimeError(st) + ")");
            }
            if (count.get() <= ordinal) {
                throw new CudnnAvailability.Unavailable("no CUDA device (cudaGetDeviceCount found " + count.get() + ")");
            }
        }
        String name = "CUDA device " + ordinal;
        long total = 0;
        try (cudaDeviceProp p = new cudaDeviceProp()) {
            if (cudaGetDeviceProperties(p, ordinal) == 0) {
                name = p.name().getString().trim();
                total = p.totalGlobalMem();
            }
        }
        int mj = attribute(cudaDevAttrComputeCapabilityMajor, ordinal);
        int mn = attribute(cudaDevAttrComputeCapabilityMinor, ordinal);
        int driver;
        int runtime;
        try (IntPointer v = new IntPointer(1)) {
            cudaDriverGetVersion(v);
            driver = v.get();
            cudaRuntimeGetVersion(v);
            runtime = v.get();
        }
        return String.format("%s (sm_%d%d, %s), driver CUDA %d.%d, runtime %d.%d", name, mj, mn, Budget.human(total),
                driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
    }

    private static int attribute(int attr, int ordinal) {
        try (IntPointer v = new IntPointer(1)) {
            checkRuntime(cudaDeviceGetAttribute(v, attr, ordinal), "cudaDeviceGetAttribute(" + attr + ")");
            return v.get();
        }
    }

    private static String runtimeError(int status) {
        BytePointer name = cudaGetErrorName(status);
        BytePointer text = cudaGetErrorString(status);
        return (name == null ? "?" : name.getString()) + ": " + (text == null ? "?" : text.getString());
    }

    static void checkRuntime(int status, String what) {
        if (status != 0) {
            cudaGetLastError(); // clear a non-sticky error
            throw CudaStatus.error(CudaStatus.Library.CUDA_RUNTIME, status, runtimeError(status), what, -1, null);
        }
    }

    static void checkDriver(int status, String what) {
        if (status != 0) {
            String name = "?";
            try (org.bytedeco.javacpp.PointerPointer<BytePointer> out = new org.bytedeco.javacpp.PointerPointer<>(1)) {
                if (cuGetErrorName(status, out) == 0 && out.get(0) != null) {
                    name = out.get(BytePointer.class, 0).getString();
                }
            } catch (RuntimeException e) {
                // keep "?"
            }
            throw CudaStatus.error(CudaStatus.Library.CUDA_DRIVER, status, name, what, -1, null);
        }
    }

    private void checkCudnn(int status, String what) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw CudaStatus.error(CudaStatus.Library.CUDNN, status, cudnnGetErrorString(status).getString(), what, -1,
                    memoryState());
        }
    }

    private void checkCublas(int status, String what) {
        if (status != 0) {
            throw CudaStatus.error(CudaStatus.Library.CUBLAS, status, null, what, -1, memoryState());
        }
    }

    /** e.g. {@code 1.2 GiB free of 79.1 GiB on NVIDIA H100 ...}. */
    String memoryState() {
        long[] m = memoryInfo();
        return Budget.human(m[0]) + " free of " + Budget.human(m[1]) + " on the device, " + Budget.human(TRACKER.liveBytes())
                + " held by this backend";
    }

    /** Free and total device memory in bytes (cudaMemGetInfo); zeros when it cannot be asked. */
    long[] memoryInfo() {
        enter();
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            if (cudaMemGetInfo(free, total) != 0) {
                cudaGetLastError();
                return new long[] {0, 0};
            }
            return new long[] {free.get(), total.get()};
        }
    }

    // ---------------------------------------------------------------- memory

    @Override
    public String describe() {
        return description;
    }

    @Override
    public MemoryTracker tracker() {
        return TRACKER;
    }

    /** A pointer to {@code address}, without a deallocator. */
    static Pointer at(long addr) {
        return new Pointer() {
            {
                this.address = addr;
            }
        };
    }

    @Override
    public long allocate(long bytes, String what) {
        enter();
        Pointer p = new Pointer();
        int st = cudaMalloc(p, bytes);
        if (st != 0) {
            cudaGetLastError();
            throw CudaStatus.error(CudaStatus.Library.CUDA_RUNTIME, st, runtimeError(st), String.format("cudaMalloc of %,d bytes"
                    + " for %s", bytes, what), bytes, memoryState());
        }
        long address = p.address();
        int z = cudaMemset(at(address), 0, bytes);
        if (z != 0) {
            cudaFree(at(address));
            checkRuntime(z, "cudaMemset of " + what);
        }
        TRACKER.allocated(bytes);
        return address;
    }

    private long scratch;

    @Override
    public synchronized long scratch() {
        if (scratch == 0) {
            enter();
            Pointer p = new Pointer();
            int st = cudaMalloc(p, SCRATCH_BYTES);
            if (st != 0) {
                cudaGetLastError();
                throw CudaStatus.error(CudaStatus.Library.CUDA_RUNTIME, st, runtimeError(st), "cudaMalloc of " + SCRATCH_BYTES
                        + " bytes for the reductions' scratch", SCRATCH_BYTES, memoryState());
            }
            scratch = p.address();
        }
        return scratch;
    }

    @Override
    public void free(long address, long bytes) {
        enter();
        int st = cudaFree(at(address));
        TRACKER.freed(bytes);
        if (st != 0) {
            cudaGetLastError();
            LOG.warn("cudaFree of {} bytes at 0x{} failed: {}", bytes, Long.toHexString(address), runtimeError(st));
        }
    }

    @Override
    public void upload(long address, float[] src, int offset, int length) {
        try (FloatPointer host = new FloatPointer(Math.max(1, length))) {
            host.put(src, offset, length);
            toDevice(address, host, length, "floats");
        }
    }

    @Override
    public void download(long address, float[] dst, int offset, int length) {
        try (FloatPointer host = new FloatPointer(Math.max(1, length))) {
            fromDevice(address, host, length, "floats");
            host.get(dst, offset, length);
        }
    }

    @Override
    public void uploadShorts(long address, short[] src, int offset, int length) {
        try (ShortPointer host = new ShortPointer(Math.max(1, length))) {
            host.put(src, offset, length);
            toDevice(address, host, length, "bf16 values");
        }
    }

    @Override
    public void downloadShorts(long address, short[] dst, int offset, int length) {
        try (ShortPointer host = new ShortPointer(Math.max(1, length))) {
            fromDevice(address, host, length, "bf16 values");
            host.get(dst, offset, length);
        }
    }

    @Override
    public void uploadInts(long address, int[] src, int offset, int length) {
        try (IntPointer host = new IntPointer(Math.max(1, length))) {
            host.put(src, offset, length);
            toDevice(address, host, length, "ints");
        }
    }

    @Override
    public void downloadInts(long address, int[] dst, int offset, int length) {
        try (IntPointer host = new IntPointer(Math.max(1, length))) {
            fromDevice(address, host, length, "ints");
            host.get(dst, offset, length);
        }
    }

    @Override
    public void downloadDoubles(long address, double[] dst, int offset, int length) {
        try (DoublePointer host = new DoublePointer(Math.max(1, length))) {
            fromDevice(address, host, length, "doubles");
            host.get(dst, offset, length);
        }
    }

    /** A synchronous copy of {@code count} elements of {@code host} (of its element size) to the device at {@code address}. */
    private void toDevice(long address, Pointer host, long count, String what) {
        enter();
        checkRuntime(cudaMemcpy(at(address), host, count * host.sizeof(), cudaMemcpyHostToDevice), "copying " + count + " "
                + what + " to the device");
    }

    /** A synchronous copy of {@code count} elements from the device at {@code address} into {@code host}. */
    private void fromDevice(long address, Pointer host, long count, String what) {
        enter();
        checkRuntime(cudaMemcpy(host, at(address), count * host.sizeof(), cudaMemcpyDeviceToHost), "copying " + count + " "
                + what + " from the device");
    }

    @Override
    public String bf16Refusal() {
        return bf16Refusal(description, major, minor);
    }

    /**
     * Null from compute capability 8.0 (Ampere: bf16 tensor cores, cuDNN's bf16 kernels); below it, why bf16 mixed
     * precision is refused: those GPUs have no bf16 arithmetic, so cuDNN would convert or refuse, and fp16 with loss
     * scaling, their mixed precision, is not built (see src/cudnn/README.md).
     */
    static String bf16Refusal(String device, int major, int minor) {
        if (major >= 8) {
            return null;
        }
        return "bf16 mixed precision needs an NVIDIA GPU of compute capability 8.0 or later (Ampere, bf16 tensor cores);"
                + " this is sm_" + major + minor + " (" + device + "): train with --precision fp32 (Precision.FLOAT32)";
    }

    @Override
    public long[] memory() {
        return memoryInfo();
    }

    @Override
    public void synchronize(String after) {
        enter();
        int st = cudaDeviceSynchronize();
        if (st == 0) {
            st = cudaGetLastError();
        }
        if (st != 0) {
            throw CudaStatus.error(CudaStatus.Library.CUDA_RUNTIME, st, runtimeError(st), "the device's work up to " + after
                    + " (run with -Dbatchwise.cudnn.sync=true to find the failing call)", -1, null);
        }
    }

    // ---------------------------------------------------------------- convolution algorithms

    @Override
    public ConvAlgorithms tune(ConvGeometry g) {
        return algorithms.computeIfAbsent(g, this::choose);
    }

    /**
     * cuDNN's heuristics (the _v7 queries, which need no memory), each list in cuDNN's order of preference:
     * the first deterministic algorithm that succeeds within {@link #WORKSPACE_LIMIT}, its workspace from
     * the matching size query.
     */
    private ConvAlgorithms choose(ConvGeometry g) {
        enter();
        try (Descriptors d = new Descriptors()) {
            cudnnTensorStruct x = d.tensor(g.n(), g.c(), g.h(), g.w(), g.type());
            cudnnTensorStruct y = d.tensor(g.n(), g.k(), g.outH(), g.outW(), g.type());
            cudnnFilterStruct w = d.filter(g);
            cudnnConvolutionStruct conv = d.convolution(g, searchMath(g));
            try (IntPointer n = new IntPointer(1); IntPointer c = new IntPointer(1); IntPointer h = new IntPointer(1);
                 IntPointer wo = new IntPointer(1)) {
                checkCudnn(cudnnGetConvolution2dForwardOutputDim(conv, x, w, n, c, h, wo), "cudnnGetConvolution2dForwardOutputDim");
                if (n.get() != g.n() || c.get() != g.k() || h.get() != g.outH() || wo.get() != g.outW()) {
                    throw new IllegalStateException("cuDNN computes output (" + n.get() + ", " + c.get() + ", " + h.get() + ", "
                            + wo.get() + ") for " + g.describe());
                }
            }
            Candidate fwd;
            Candidate bwdData;
            Candidate bwdFilter;
            try (IntPointer returned = new IntPointer(1); SizeTPointer bytes = new SizeTPointer(1);
                 cudnnConvolutionFwdAlgoPerf_t pf = new cudnnConvolutionFwdAlgoPerf_t(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
                 cudnnConvolutionBwdDataAlgoPerf_t pd = new cudnnConvolutionBwdDataAlgoPerf_t(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
                 cudnnConvolutionBwdFilterAlgoPerf_t pw = new cudnnConvolutionBwdFilterAlgoPerf_t(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)) {
                checkCudnn(cudnnGetConvolutionForwardAlgorithm_v7(cudnn, x, w, conv, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, returned, pf),
                        "cudnnGetConvolutionForwardAlgorithm_v7 for " + g.describe());
                int[] a = new int[returned.get()];
                int[][] s = new int[3][a.length];
                long[] m = new long[a.length];
                for (int i = 0; i < a.length; i++) {
                    cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(pf).position(i);
                    a[i] = p.algo();
                    s[0][i] = p.status();
                    s[1][i] = p.determinism();
                    s[2][i] = p.mathType();
                    m[i] = p.memory();
                }
                fwd = pick("forward", g, a, s[0], s[1], s[2], m, (algo, math) -> {
                    checkCudnn(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
                    checkCudnn(cudnnGetConvolutionForwardWorkspaceSize(cudnn, x, w, conv, y, algo, bytes), "forward workspace size");
                    return bytes.get();
                });
                checkCudnn(cudnnSetConvolutionMathType(conv, searchMath(g)), "cudnnSetConvolutionMathType");
                checkCudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn, w, y, conv, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                        returned, pd), "cudnnGetConvolutionBackwardDataAlgorithm_v7 for " + g.describe());
                a = new int[returned.get()];
                s = new int[3][a.length];
                m = new long[a.length];
                for (int i = 0; i < a.length; i++) {
                    cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(pd).position(i);
                    a[i] = p.algo();
                    s[0][i] = p.status();
                    s[1][i] = p.determinism();
                    s[2][i] = p.mathType();
                    m[i] = p.memory();
                }
                bwdData = pick("backward data", g, a, s[0], s[1], s[2], m, (algo, math) -> {
                    checkCudnn(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
                    checkCudnn(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn, w, y, conv, x, algo, bytes),
                            "backward data workspace size");
                    return bytes.get();
                });
                checkCudnn(cudnnSetConvolutionMathType(conv, searchMath(g)), "cudnnSetConvolutionMathType");
                checkCudnn(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn, x, y, conv, w,
                        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, returned, pw),
                        "cudnnGetConvolutionBackwardFilterAlgorithm_v7 for " + g.describe());
                a = new int[returned.get()];
                s = new int[3][a.length];
                m = new long[a.length];
                for (int i = 0; i < a.length; i++) {
                    cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(pw).position(i);
                    a[i] = p.algo();
                    s[0][i] = p.status();
                    s[1][i] = p.determinism();
                    s[2][i] = p.mathType();
                    m[i] = p.memory();
                }
                bwdFilter = pick("backward filter", g, a, s[0], s[1], s[2], m, (algo, math) -> {
                    checkCudnn(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
                    checkCudnn(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn, x, y, conv, w, algo, bytes),
                            "backward filter workspace size");
                    return bytes.get();
                });
            }
            ConvAlgorithms chosen = new ConvAlgorithms(fwd.algo(), fwd.bytes(), bwdData.algo(), bwdData.bytes(), bwdFilter.algo(),
                    bwdFilter.bytes(), fwd.math(), bwdData.math(), bwdFilter.math());
            LOG.debug("cudnn: {} -> {}", g.describe(), chosen);
            return chosen;
        }
    }

    /**
     * The math type the heuristics are asked under: for float32 FMA (no TF32) unless -Dbatchwise.cudnn.tf32=true; for
     * bf16 tensor-op math, the point of bf16 (its products are exact in the float32 accumulator).
     */
    static int searchMath(ConvGeometry g) {
        return g.bf16() ? CUDNN_TENSOR_OP_MATH : TF32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    }

    /**
     * The math type a chosen candidate's descriptor gets: its {@code perf.mathType}, as PyTorch does, except
     * that without TF32 {@code CUDNN_DEFAULT_MATH} becomes {@code CUDNN_FMA_MATH} (DEFAULT allows TF32 on Ampere).
     */
    static int descriptorMath(int perfMath) {
        return !TF32 && perfMath == CUDNN_DEFAULT_MATH ? CUDNN_FMA_MATH : perfMath;
    }

    /** A chosen algorithm, the math type its descriptor gets and its exact workspace in bytes. */
    record Candidate(int algo, int math, long bytes) {
    }

    /** The exact workspace of an algorithm under a math type (cuDNN's size query; its heuristics' figure is an estimate). */
    interface WorkspaceQuery {
        long bytes(int algo, int mathType);
    }

    /**
     * The first candidate in cuDNN's order that succeeded, fits the workspace limit, is deterministic and
     * (for float32, unless TF32 is allowed) uses no tensor-op math; failing that, the first that succeeded within the
     * limit, with a warning. "Fits" holds for the heuristics' {@code perf.memory} and for the exact size
     * {@code exact} reports for the algorithm under its descriptor math type, which is what the plan reserves.
     */
    static Candidate pick(String what, ConvGeometry g, int[] algos, int[] status, int[] determinism, int[] mathType,
                          long[] memory, WorkspaceQuery exact) {
        boolean tensorOps = TF32 || g.bf16(); // tensor-op math allowed: TF32 asked for, or bf16 data
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < algos.length; i++) {
                boolean strict = determinism[i] == CUDNN_DETERMINISTIC
                        && (tensorOps || (mathType[i] != CUDNN_TENSOR_OP_MATH && mathType[i] != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
                if (status[i] == CUDNN_STATUS_SUCCESS && memory[i] <= WORKSPACE_LIMIT && (pass == 1 || strict)) {
                    int math = tensorOps ? mathType[i] : descriptorMath(mathType[i]);
                    long bytes = exact.bytes(algos[i], math);
                    if (bytes > WORKSPACE_LIMIT) {
                        LOG.debug("cudnn: {} algorithm {} for {} needs {} of workspace, over the limit", what, algos[i], g.describe(),
                                Budget.human(bytes));
                        continue;
                    }
                    if (pass == 1) {
                        LOG.warn("cudnn: no deterministic {} algorithm for {}; using algorithm {} (math type {}):"
                                + " results may vary in the last bits", what, g.describe(), algos[i], mathType[i]);
                    }
                    return new Candidate(algos[i], math, bytes);
                }
            }
        }
        throw new IllegalStateException("cuDNN offers no " + what + " algorithm for " + g.describe() + " within a workspace of "
                + Budget.human(WORKSPACE_LIMIT) + " (-Dbatchwise.cudnn.workspaceLimit)");
    }

    // ---------------------------------------------------------------- descriptors

    /** cuDNN's data type for a buffer's element type. */
    static int cudnnType(DataType t) {
        return switch (t) {
            case FLOAT32 -> CUDNN_DATA_FLOAT;
            case BFLOAT16 -> CUDNN_DATA_BFLOAT16;
            default -> throw new IllegalArgumentException("the cudnn backend holds no " + t);
        };
    }

    /** cuDNN descriptors, destroyed together; tensor descriptors shared by shape and type. */
    static final class Descriptors implements AutoCloseable {
        private final List<Pointer> all = new ArrayList<>();
        private final Map<String, cudnnTensorStruct> tensors = new java.util.HashMap<>();

        cudnnTensorStruct tensor(int n, int c, int h, int w, DataType type) {
            return tensors.computeIfAbsent(n + "," + c + "," + h + "," + w + "," + type, k -> {
                cudnnTensorStruct t = new cudnnTensorStruct();
                checkCudnnHost(cudnnCreateTensorDescriptor(t), "cudnnCreateTensorDescriptor");
                all.add(t);
                checkCudnnHost(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, cudnnType(type), n, c, h, w),
                        "cudnnSetTensor4dDescriptor (" + n + ", " + c + ", " + h + ", " + w + ") " + type);
                return t;
            });
        }

        /** A buffer's tensor descriptor as (n, c, h, w). */
        cudnnTensorStruct tensor(int n, int c, int h, int w, CudnnBuffer of) {
            return tensor(n, c, h, w, of.type);
        }

        cudnnFilterStruct filter(ConvGeometry g) {
            cudnnFilterStruct f = new cudnnFilterStruct();
            checkCudnnHost(cudnnCreateFilterDescriptor(f), "cudnnCreateFilterDescriptor");
            all.add(f);
            checkCudnnHost(cudnnSetFilter4dDescriptor(f, cudnnType(g.type()), CUDNN_TENSOR_NCHW, g.k(), g.c(), g.r(), g.s()),
                    "cudnnSetFilter4dDescriptor for " + g.describe());
            return f;
        }

        /**
         * A convolution descriptor with {@code mathType}: the chosen algorithm's ({@link ConvAlgorithms}), as PyTorch does.
         * It computes in float32 for float32 and bf16 data alike (bf16: cuDNN's pseudo-bf16 configuration).
         */
        cudnnConvolutionStruct convolution(ConvGeometry g, int mathType) {
            cudnnConvolutionStruct c = new cudnnConvolutionStruct();
            checkCudnnHost(cudnnCreateConvolutionDescriptor(c), "cudnnCreateConvolutionDescriptor");
            all.add(c);
            checkCudnnHost(cudnnSetConvolution2dDescriptor(c, g.padH(), g.padW(), g.strideH(), g.strideW(), g.dilationH(),
                    g.dilationW(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor for " + g.describe());
            checkCudnnHost(cudnnSetConvolutionMathType(c, mathType), "cudnnSetConvolutionMathType(" + mathType + ")");
            return c;
        }

        cudnnPoolingStruct pooling(PoolGeometry g) {
            cudnnPoolingStruct p = new cudnnPoolingStruct();
            checkCudnnHost(cudnnCreatePoolingDescriptor(p), "cudnnCreatePoolingDescriptor");
            all.add(p);
            int mode = switch (g.mode()) {
                case MAX -> CUDNN_POOLING_MAX_DETERMINISTIC;
                case AVERAGE_INCLUDE_PADDING -> CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
                case AVERAGE_EXCLUDE_PADDING -> CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
            };
            checkCudnnHost(cudnnSetPooling2dDescriptor(p, mode, CUDNN_NOT_PROPAGATE_NAN, g.windowH(), g.windowW(), g.padH(), g.padW(),
                    g.strideH(), g.strideW()), "cudnnSetPooling2dDescriptor");
            return p;
        }

        cudnnActivationStruct activation(CudnnOp.Act act, float coef) {
            cudnnActivationStruct a = new cudnnActivationStruct();
            checkCudnnHost(cudnnCreateActivationDescriptor(a), "cudnnCreateActivationDescriptor");
            all.add(a);
            int mode = switch (act) {
                case RELU -> CUDNN_ACTIVATION_RELU;
                case SIGMOID -> CUDNN_ACTIVATION_SIGMOID;
                case TANH -> CUDNN_ACTIVATION_TANH;
                case ELU -> CUDNN_ACTIVATION_ELU;
                default -> throw new IllegalArgumentException(act + " is not a cuDNN activation");
            };
            // For RELU cuDNN reads coef as an upper bound: none. ELU's is alpha; sigmoid and tanh ignore it.
            double c = act == CudnnOp.Act.RELU ? Float.MAX_VALUE : coef;
            checkCudnnHost(cudnnSetActivationDescriptor(a, mode, CUDNN_NOT_PROPAGATE_NAN, c), "cudnnSetActivationDescriptor");
            return a;
        }

        /** How many descriptors are alive. */
        int count() {
            return all.size();
        }

        @Override
        public void close() {
            for (int i = all.size() - 1; i >= 0; i--) {
                Pointer p = all.get(i);
                int st;
                if (p instanceof cudnnTensorStruct t) {
                    st = cudnnDestroyTensorDescriptor(t);
                } else if (p instanceof cudnnFilterStruct f) {
                    st = cudnnDestroyFilterDescriptor(f);
                } else if (p instanceof cudnnConvolutionStruct c) {
                    st = cudnnDestroyConvolutionDescriptor(c);
                } else if (p instanceof cudnnPoolingStruct q) {
                    st = cudnnDestroyPoolingDescriptor(q);
                } else {
                    st = cudnnDestroyActivationDescriptor((cudnnActivationStruct) p);
                }
                if (st != CUDNN_STATUS_SUCCESS) {
                    LOG.warn("cudnn: destroying a descriptor failed with status {}", st);
                }
            }
            all.clear();
            tensors.clear();
        }
    }

    /** A status of a call that touches no device memory (descriptors, the heuristics' queries). */
    static void checkCudnnHost(int status, String what) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw CudaStatus.error(CudaStatus.Library.CUDNN, status, cudnnGetErrorString(status).getString(), what, -1, null);
        }
    }

    // ---------------------------------------------------------------- programs

    @Override
    public Compiled compile(CudnnProgram program) {
        enter();
        return new CudaProgram(program);
    }

    /**
     * The cuDNN descriptors of a program's ops, made once per plan. Needs the cuDNN library but no device or
     * handle, so the GPU-less check ({@code NvidiaLibrariesTest}) makes them for every model of the conformance suite.
     */
    static final class ProgramDescriptors implements AutoCloseable {
        final Descriptors d = new Descriptors();
        private final Map<CudnnOp, Object[]> prepared = new IdentityHashMap<>();
        private final Map<List<Object>, Object[]> convs = new java.util.HashMap<>();

        ProgramDescriptors(CudnnProgram program) {
            try {
                for (CudnnOp op : program.allOps()) {
                    Object[] p = prepare(op);
                    if (p != null) {
                        prepared.put(op, p);
                    }
                }
            } catch (RuntimeException e) {
                d.close();
                throw e;
            }
        }

        Object[] get(CudnnOp op) {
            return prepared.get(op);
        }

        /** x, w, y, then one convolution descriptor per direction, each with its algorithm's math type. */
        private Object[] conv(ConvGeometry g, ConvAlgorithms al) {
            return convs.computeIfAbsent(List.of(g, al), k -> new Object[] {d.tensor(g.n(), g.c(), g.h(), g.w(), g.type()),
                d.filter(g), d.tensor(g.n(), g.k(), g.outH(), g.outW(), g.type()), d.convolution(g, al.forwardMath()),
                d.convolution(g, al.backwardDataMath()), d.convolution(g, al.backwardFilterMath())});
        }

        private Object[] prepare(CudnnOp op) {
            if (op instanceof CudnnOp.ConvForward o) {
                return conv(o.g(), o.algorithms());
            } else if (op instanceof CudnnOp.ConvBackwardData o) {
                return conv(o.g(), o.algorithms());
            } else if (op instanceof CudnnOp.ConvBackwardFilter o) {
                return conv(o.g(), o.algorithms());
            } else if (op instanceof CudnnOp.BiasForward o) {
                return new Object[] {d.tensor(1, o.c(), 1, 1, o.bias()), d.tensor(o.n(), o.c(), o.hw(), 1, o.y())};
            } else if (op instanceof CudnnOp.BiasBackward o) {
                return new Object[] {d.tensor(1, o.c(), 1, 1, o.db()), d.tensor(o.n(), o.c(), o.hw(), 1, o.dy())};
            } else if (op instanceof CudnnOp.PoolForward o) {
                return pool(o.g(), o.x());
            } else if (op instanceof CudnnOp.PoolBackward o) {
                return pool(o.g(), o.x());
            } else if (op instanceof CudnnOp.ActForward o && o.act().cudnn()) {
                return new Object[] {d.activation(o.act(), o.coef()), d.tensor(o.n(), o.c(), 1, 1, o.x())};
            } else if (op instanceof CudnnOp.ActBackward o && o.act().cudnn()) {
                return new Object[] {d.activation(o.act(), o.coef()), d.tensor(o.n(), o.c(), 1, 1, o.x())};
            } else if (op instanceof CudnnOp.SoftmaxForward o) {
                return new Object[] {d.tensor(o.n(), o.c(), o.hw(), 1, o.x())};
            } else if (op instanceof CudnnOp.SoftmaxBackward o) {
                return new Object[] {d.tensor(o.n(), o.c(), o.hw(), 1, o.y())};
            } else if (op instanceof CudnnOp.BatchNormTraining o) {
                return batchNorm(o.n(), o.c(), o.h(), o.w(), o.x());
            } else if (op instanceof CudnnOp.BatchNormInference o) {
                return batchNorm(o.n(), o.c(), o.h(), o.w(), o.x());
            } else if (op instanceof CudnnOp.BatchNormBackward o) {
                return batchNorm(o.n(), o.c(), o.h(), o.w(), o.x());
            }
            return null; // kernels, cuBLAS and host ops need no descriptor
        }

        private Object[] pool(PoolGeometry g, CudnnBuffer x) {
            return new Object[] {d.pooling(g), d.tensor(g.n(), g.c(), g.h(), g.w(), x), d.tensor(g.n(), g.c(), g.outH(), g.outW(), x)};
        }

        /** The data's descriptor, and the float32 one of gamma, beta and the statistics (cuDNN's for float32 and bf16 data). */
        private Object[] batchNorm(int n, int c, int h, int w, CudnnBuffer x) {
            return new Object[] {d.tensor(n, c, h, w, x), d.tensor(1, c, 1, 1, DataType.FLOAT32)};
        }

        @Override
        public void close() {
            d.close();
            prepared.clear();
            convs.clear();
        }
    }

    /** A program's descriptors and the calls that run its ops. */
    private final class CudaProgram implements Compiled {
        private final ProgramDescriptors descriptors;

        CudaProgram(CudnnProgram program) {
            descriptors = new ProgramDescriptors(program);
        }

        private Pointer beta(CudnnOp.Beta beta, Run run) {
            return beta.value(run.mode()) == 0f ? zero : one;
        }

        @Override
        public void run(CudnnOp op, long[] a, Run run) {
            enter();
            KernelCall k = KernelCall.of(op, a, run);
            if (k != null) {
                kernels().launch(k, op.label());
                return;
            }
            Object[] p = descriptors.get(op);
            String what = op.label();
            if (op instanceof CudnnOp.ConvForward o) {
                checkCudnn(cudnnConvolutionForward(cudnn, one, (cudnnTensorStruct) p[0], ptr(a, o.x()), (cudnnFilterStruct) p[1],
                        ptr(a, o.w()), (cudnnConvolutionStruct) p[3], o.algorithms().forward(), ptr(a, o.workspace()),
                        o.workspace() == null ? 0 : o.algorithms().forwardBytes(), beta(o.beta(), run), (cudnnTensorStruct) p[2], ptr(a, o.y())),
                        what);
            } else if (op instanceof CudnnOp.ConvBackwardData o) {
                checkCudnn(cudnnConvolutionBackwardData(cudnn, one, (cudnnFilterStruct) p[1], ptr(a, o.w()),
                        (cudnnTensorStruct) p[2], ptr(a, o.dy()), (cudnnConvolutionStruct) p[4], o.algorithms().backwardData(),
                        ptr(a, o.workspace()), o.workspace() == null ? 0 : o.algorithms().backwardDataBytes(), beta(o.beta(), run),
                        (cudnnTensorStruct) p[0], ptr(a, o.dx())), what);
            } else if (op instanceof CudnnOp.ConvBackwardFilter o) {
                checkCudnn(cudnnConvolutionBackwardFilter(cudnn, one, (cudnnTensorStruct) p[0], ptr(a, o.x()),
                        (cudnnTensorStruct) p[2], ptr(a, o.dy()), (cudnnConvolutionStruct) p[5], o.algorithms().backwardFilter(),
                        ptr(a, o.workspace()), o.workspace() == null ? 0 : o.algorithms().backwardFilterBytes(),
                        beta(o.beta(), run), (cudnnFilterStruct) p[1], ptr(a, o.dw())), what);
            } else if (op instanceof CudnnOp.BiasForward o) {
                checkCudnn(cudnnAddTensor(cudnn, one, (cudnnTensorStruct) p[0], ptr(a, o.bias()), beta(o.beta(), run),
                        (cudnnTensorStruct) p[1], ptr(a, o.y())), what);
            } else if (op instanceof CudnnOp.BiasBackward o) {
                checkCudnn(cudnnConvolutionBackwardBias(cudnn, one, (cudnnTensorStruct) p[1], ptr(a, o.dy()), beta(o.beta(), run),
                        (cudnnTensorStruct) p[0], ptr(a, o.db())), what);
            } else if (op instanceof CudnnOp.Gemm o && o.a().bf16()) { // A and B share a type (CudnnOp.Gemm)
                // bf16 A and B, C bf16 or float32, accumulated in float32 (tensor cores from sm_80).
                checkCublas(cublasGemmEx(cublas, o.transA() ? CUBLAS_OP_T : CUBLAS_OP_N, o.transB() ? CUBLAS_OP_T : CUBLAS_OP_N,
                        o.m(), o.n(), o.k(), one, ptr(a, o.a()), cudaType(o.a()), o.lda(), ptr(a, o.b()), cudaType(o.b()), o.ldb(),
                        beta(o.beta(), run), ptr(a, o.c()), cudaType(o.c()), o.ldc(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), what);
            } else if (op instanceof CudnnOp.Gemm o) {
                checkCublas(cublasSgemm_v2(cublas, o.transA() ? CUBLAS_OP_T : CUBLAS_OP_N, o.transB() ? CUBLAS_OP_T : CUBLAS_OP_N,
                        o.m(), o.n(), o.k(), one, floats(a, o.a()), o.lda(), floats(a, o.b()), o.ldb(),
                        (FloatPointer) beta(o.beta(), run), floats(a, o.c()), o.ldc()), what);
            } else if (op instanceof CudnnOp.PoolForward o) {
                checkCudnn(cudnnPoolingForward(cudnn, (cudnnPoolingStruct) p[0], one, (cudnnTensorStruct) p[1], ptr(a, o.x()),
                        zero, (cudnnTensorStruct) p[2], ptr(a, o.y())), what);
            } else if (op instanceof CudnnOp.PoolBackward o) {
                checkCudnn(cudnnPoolingBackward(cudnn, (cudnnPoolingStruct) p[0], one, (cudnnTensorStruct) p[2], ptr(a, o.y()),
                        (cudnnTensorStruct) p[2], ptr(a, o.dy()), (cudnnTensorStruct) p[1], ptr(a, o.x()), beta(o.beta(), run),
                        (cudnnTensorStruct) p[1], ptr(a, o.dx())), what);
            } else if (op instanceof CudnnOp.ActForward o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[1];
                checkCudnn(cudnnActivationForward(cudnn, (cudnnActivationStruct) p[0], one, t, ptr(a, o.x()), zero, t,
                        ptr(a, o.y())), what);
            } else if (op instanceof CudnnOp.ActBackward o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[1];
                checkCudnn(cudnnActivationBackward(cudnn, (cudnnActivationStruct) p[0], one, t, ptr(a, o.y()), t, ptr(a, o.dy()),
                        t, ptr(a, o.x()), beta(o.beta(), run), t, ptr(a, o.dx())), what);
            } else if (op instanceof CudnnOp.SoftmaxForward o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[0];
                checkCudnn(cudnnSoftmaxForward(cudnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, one, t, ptr(a, o.x()),
                        zero, t, ptr(a, o.y())), what);
            } else if (op instanceof CudnnOp.SoftmaxBackward o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[0];
                checkCudnn(cudnnSoftmaxBackward(cudnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, one, t, ptr(a, o.y()),
                        t, ptr(a, o.dy()), beta(o.beta(), run), t, ptr(a, o.dx())), what);
            } else if (op instanceof CudnnOp.BatchNormTraining o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[0];
                checkCudnn(cudnnBatchNormalizationForwardTraining(cudnn, CUDNN_BATCHNORM_SPATIAL, one, zero, t, ptr(a, o.x()), t,
                        ptr(a, o.y()), (cudnnTensorStruct) p[1], ptr(a, o.gamma()), ptr(a, o.shift()), o.momentum(),
                        ptr(a, o.runningMean()), ptr(a, o.runningVar()), o.epsilon(), ptr(a, o.saveMean()),
                        ptr(a, o.saveInvStd())), what);
            } else if (op instanceof CudnnOp.BatchNormInference o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[0];
                checkCudnn(cudnnBatchNormalizationForwardInference(cudnn, CUDNN_BATCHNORM_SPATIAL, one, zero, t, ptr(a, o.x()), t,
                        ptr(a, o.y()), (cudnnTensorStruct) p[1], ptr(a, o.gamma()), ptr(a, o.shift()), ptr(a, o.runningMean()),
                        ptr(a, o.runningVar()), o.epsilon()), what);
            } else if (op instanceof CudnnOp.BatchNormBackward o) {
                cudnnTensorStruct t = (cudnnTensorStruct) p[0];
                checkCudnn(cudnnBatchNormalizationBackward(cudnn, CUDNN_BATCHNORM_SPATIAL, one, beta(o.dataBeta(), run), one,
                        beta(o.paramBeta(), run), t, ptr(a, o.x()), t, ptr(a, o.dy()), t, ptr(a, o.dx()), (cudnnTensorStruct) p[1],
                        ptr(a, o.gamma()), ptr(a, o.dGamma()), ptr(a, o.dShift()), o.epsilon(), ptr(a, o.saveMean()),
                        ptr(a, o.saveInvStd())), what);
            } else {
                throw new IllegalStateException(what + ": " + op.getClass().getSimpleName() + " has no GPU implementation");
            }
        }

        @Override
        public void close() {
            descriptors.close();
        }
    }

    private static Pointer ptr(long[] a, CudnnBuffer b) {
        return b == null ? null : at(a[b.index]);
    }

    private static int cudaType(CudnnBuffer b) {
        return b.bf16() ? CUDA_R_16BF : CUDA_R_32F;
    }

    private static FloatPointer floats(long[] a, CudnnBuffer b) {
        return new FloatPointer(at(a[b.index]));
    }
}
