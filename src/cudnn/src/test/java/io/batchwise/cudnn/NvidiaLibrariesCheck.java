package io.batchwise.cudnn;

import static org.bytedeco.cuda.global.cudnn.*;

import io.batchwise.Graph;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.testkit.BackendConformanceSuite;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;

/**
 * The GPU-less device check, run by {@link NvidiaLibrariesTest} in a JVM of its own whose
 * {@code LD_LIBRARY_PATH} holds NVIDIA's wheel libraries and a stub {@code libcuda.so.1}: the real NVRTC,
 * cuDNN and cuBLAS through the JavaCPP preset, with the backend's own code, and no call that needs a device.
 *
 * <pre>
 *   check CACHE_DIR    load the libraries; compile every kernel file for sm_80, sm_90 and NVRTC's newest
 *                      architecture (cubins, through CudaKernels.compile and its disk cache in CACHE_DIR);
 *                      make every cuDNN descriptor of every conformance-suite model's training and
 *                      inference programs, float32 and bf16 (ProgramDescriptors), and check cuDNN's
 *                      output shapes, each descriptor's data type, and that cuDNN derives float32
 *                      BatchNorm parameters for bf16 data (what the bf16 programs pass)
 *   probe-nvrtc        the availability probe's NVRTC stage, and the probe's message for its failure, if any
 * </pre>
 * Prints one line per result; exit status 0 when everything passed.
 */
final class NvidiaLibrariesCheck {
    private NvidiaLibrariesCheck() {
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("probe-nvrtc")) {
            try {
                System.out.println("compiler ok: NVRTC " + CudnnAvailability.nvrtcStage());
            } catch (RuntimeException | LinkageError e) {
                System.out.println("compiler failed: " + CudnnAvailability.missingMessage(CudnnAvailability.Stage.NVRTC, e,
                        CudnnAvailability.platform()));
            }
            return;
        }
        System.setProperty("batchwise.cuda.cache", args[1]);
        // The order of the availability probe: runtime (stub driver), cuBLAS, cuDNN, NVRTC.
        Loader.load(org.bytedeco.cuda.global.cudart.class);
        Loader.load(org.bytedeco.cuda.global.cublas.class);
        try (IntPointer v = new IntPointer(1)) {
            require(org.bytedeco.cuda.global.cublas.cublasGetProperty(org.bytedeco.cuda.global.cudart.MAJOR_VERSION, v) == 0,
                    "cublasGetProperty");
            System.out.println("cuBLAS loaded: major version " + v.get());
        }
        Loader.load(org.bytedeco.cuda.global.cudnn.class);
        long cudnn = org.bytedeco.cuda.global.cudnn.cudnnGetVersion();
        require(cudnn / 10000 == 9, "cuDNN 9 expected, got " + cudnn);
        System.out.println("cuDNN loaded: version " + cudnn);
        Loader.load(org.bytedeco.cuda.global.nvrtc.class);
        System.out.println("NVRTC compiles: version " + CudaKernels.checkCompiler());

        kernels(Path.of(args[1]));
        descriptors();
        System.out.println("device check passed");
    }

    private static void kernels(Path cache) throws Exception {
        int[] supported = CudaKernels.supportedArchs();
        System.out.println("NVRTC architectures: " + Arrays.toString(supported));
        Set<Integer> archs = new LinkedHashSet<>(List.of(80, 90, supported[supported.length - 1]));
        for (int arch : archs) {
            // Through KernelSources.target, as the backend picks for a device of that compute capability.
            KernelSources.Target t = KernelSources.target(arch / 10, arch % 10, supported);
            require(t.cubin() && t.arch() == arch, "a cubin for sm_" + arch + ", got " + t);
            for (String file : KernelSources.FILES) {
                byte[] image = CudaKernels.compile(file, t);
                require(image.length > 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F',
                        file + " for sm_" + arch + " is not an ELF cubin");
                String text = new String(image, StandardCharsets.ISO_8859_1);
                for (Kernel k : Kernel.values()) {
                    if (k.file.equals(file)) {
                        require(text.contains(k.symbol), file + " for sm_" + arch + " lacks the kernel " + k.symbol);
                    }
                }
                try (Stream<Path> s = Files.list(cache)) {
                    require(s.anyMatch(p -> p.toString().endsWith(".cubin")), "no cubin cached in " + cache);
                }
                System.out.println("compiled " + file + " for sm_" + arch + ": " + image.length + " bytes");
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<BackendConformanceSuite.Case> cases() throws Exception {
        // The suite's cases are package-private in testkit: read through reflection, so the check follows the suite.
        List<BackendConformanceSuite.Case> all = new ArrayList<>();
        for (String m : List.of("layerCases", "lossCases")) {
            Method method = BackendConformanceSuite.class.getDeclaredMethod(m);
            method.setAccessible(true);
            ((Stream<BackendConformanceSuite.Case>) method.invoke(null)).forEach(all::add);
        }
        Method network = BackendConformanceSuite.class.getDeclaredMethod("network");
        network.setAccessible(true);
        for (int batch : new int[] {1, 7}) {
            all.add(new BackendConformanceSuite.Case("network", (Graph) network.invoke(null), batch, null, false));
        }
        return all;
    }

    private static void descriptors() throws Exception {
        int programs = 0;
        int descriptors = 0;
        int convs = 0;
        int pools = 0;
        int bf16 = 0;
        int batchNorms = 0;
        // Any algorithm will do: descriptors depend on the geometry and the math type only.
        ConvAlgorithms algos = new ConvAlgorithms(0, 0, 0, 0, 0, 0);
        for (BackendConformanceSuite.Case c : cases()) {
            for (PlanOptions options : List.of(PlanOptions.forTraining(), PlanOptions.forInference(),
                    PlanOptions.forTraining().withPrecision(Precision.BF16_MIXED),
                    PlanOptions.forInference().withPrecision(Precision.BF16_MIXED))) {
                CudnnProgram program = CudnnPlanner.compile(c.graph(), c.batch(), options, g -> algos);
                try (CudaDevice.ProgramDescriptors d = new CudaDevice.ProgramDescriptors(program)) {
                    programs++;
                    descriptors += d.d.count();
                    for (CudnnOp op : program.allOps()) {
                        if (op instanceof CudnnOp.BatchNormTraining o) {
                            Object[] p = d.get(op);
                            requireType((cudnnTensorStruct) p[0], o.x(), c + " " + op.label());
                            cudnnTensorStruct derived = new cudnnTensorStruct();
                            require(cudnnCreateTensorDescriptor(derived) == CUDNN_STATUS_SUCCESS, "a tensor descriptor");
                            try {
                                require(cudnnDeriveBNTensorDescriptor(derived, (cudnnTensorStruct) p[0], CUDNN_BATCHNORM_SPATIAL)
                                        == CUDNN_STATUS_SUCCESS, "cudnnDeriveBNTensorDescriptor for " + op.label());
                                require(type(derived) == type((cudnnTensorStruct) p[1]) && type(derived) == CUDNN_DATA_FLOAT,
                                        c + " " + op.label() + ": cuDNN derives parameters of type " + type(derived) + " for "
                                                + o.x() + ", the program passes " + type((cudnnTensorStruct) p[1]));
                            } finally {
                                cudnnDestroyTensorDescriptor(derived);
                            }
                            batchNorms++;
                        }
                        if (op instanceof CudnnOp.ConvForward o) {
                            Object[] p = d.get(op);
                            requireType((cudnnTensorStruct) p[0], o.x(), c + " " + op.label());
                            requireType((cudnnTensorStruct) p[2], o.y(), c + " " + op.label());
                            bf16 += o.g().bf16() ? 1 : 0;
                            int[] out = new int[4];
                            try (IntPointer n = new IntPointer(1); IntPointer k = new IntPointer(1); IntPointer h = new IntPointer(1);
                                 IntPointer w = new IntPointer(1)) {
                                require(cudnnGetConvolution2dForwardOutputDim((cudnnConvolutionStruct) p[3], (cudnnTensorStruct) p[0],
                                        (cudnnFilterStruct) p[1], n, k, h, w) == CUDNN_STATUS_SUCCESS, "output dim of " + op.label());
                                out = new int[] {n.get(), k.get(), h.get(), w.get()};
                            }
                            var g = o.g();
                            require(Arrays.equals(out, new int[] {g.n(), g.k(), g.outH(), g.outW()}), c + " " + op.label()
                                    + ": cuDNN computes " + Arrays.toString(out) + " for " + g.describe());
                            convs++;
                        } else if (op instanceof CudnnOp.PoolForward o) {
                            Object[] p = d.get(op);
                            try (IntPointer n = new IntPointer(1); IntPointer k = new IntPointer(1); IntPointer h = new IntPointer(1);
                                 IntPointer w = new IntPointer(1)) {
                                require(cudnnGetPooling2dForwardOutputDim((cudnnPoolingStruct) p[0], (cudnnTensorStruct) p[1], n, k, h, w)
                                        == CUDNN_STATUS_SUCCESS, "pooling output dim of " + op.label());
                                var g = o.g();
                                require(n.get() == g.n() && k.get() == g.c() && h.get() == g.outH() && w.get() == g.outW(),
                                        c + " " + op.label() + ": cuDNN computes (" + n.get() + ", " + k.get() + ", " + h.get() + ", "
                                                + w.get() + ") for " + g);
                            }
                            pools++;
                        }
                    }
                }
            }
        }
        require(convs > 0 && pools > 0 && bf16 > 0 && batchNorms > 0, "the suite has convolutions, pooling and BatchNorm,"
                + " and bf16 programs");
        System.out.println("descriptors made: " + descriptors + " for " + programs + " programs, float32 and bf16 (" + convs
                + " convolution (" + bf16 + " bf16) and " + pools + " pooling output shapes checked, " + batchNorms
                + " BatchNorm parameter types derived)");
    }

    /** A tensor descriptor's data type (cudnnGetTensor4dDescriptor). */
    private static int type(cudnnTensorStruct t) {
        int[] dt = new int[1];
        int[] v = new int[8];
        require(cudnnGetTensor4dDescriptor(t, dt, v, v, v, v, v, v, v, v) == CUDNN_STATUS_SUCCESS, "cudnnGetTensor4dDescriptor");
        return dt[0];
    }

    private static void requireType(cudnnTensorStruct t, CudnnBuffer b, String what) {
        require(type(t) == CudaDevice.cudnnType(b.type), what + ": the descriptor of " + b + " has cuDNN type " + type(t));
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("device check failed: " + what);
        }
    }
}
