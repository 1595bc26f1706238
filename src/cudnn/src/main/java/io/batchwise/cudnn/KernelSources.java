package io.batchwise.cudnn;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CUDA C sources of {@code native/cuda}, packed in this jar under {@link #RESOURCE_DIR}: reading
 * them, finding their kernels and parameter types, the NVRTC options for a device, and the key under
 * which a compiled module is cached. Needs no device.
 */
final class KernelSources {
    static final String RESOURCE_DIR = "io/batchwise/cudnn/kernels/";
    /** The header every kernel file includes; handed to NVRTC as an in-memory header. */
    static final String HEADER = "batchwise.cuh";
    /** The kernel files, each one NVRTC program (and one CUDA module). */
    static final List<String> FILES = List.of("layers.cu", "loss.cu", "vector.cu");

    private static final Pattern KERNEL = Pattern.compile("BW_KERNEL\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)");

    private KernelSources() {
    }

    /** The text of {@code file} from the jar. */
    static String read(String file) {
        String path = RESOURCE_DIR + file;
        try (InputStream in = KernelSources.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("the CUDA kernel source " + path + " is missing from the class path: the"
                        + " batchwise-cudnn jar packs native/cuda/" + file + " there (see src/cudnn/pom.xml)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the CUDA kernel source " + path + ": " + e.getMessage(), e);
        }
    }

    /** Kernel name to its parameter types, in the order the source defines them. */
    static Map<String, List<Kernel.Arg>> kernels(String source) {
        Map<String, List<Kernel.Arg>> m = new LinkedHashMap<>();
        Matcher k = KERNEL.matcher(source);
        while (k.find()) {
            List<Kernel.Arg> args = new ArrayList<>();
            for (String p : k.group(2).split(",")) {
                if (!p.isBlank()) {
                    args.add(argType(p.trim(), k.group(1)));
                }
            }
            m.put(k.group(1), args);
        }
        return m;
    }

    /** The type of one C parameter declaration such as {@code const float* x} or {@code long long n}. */
    static Kernel.Arg argType(String declaration, String kernel) {
        if (declaration.contains("*")) {
            return Kernel.Arg.PTR;
        }
        String type = declaration.replaceAll("\\s+\\w+$", "").replace("const ", "").trim().replaceAll("\\s+", " ");
        for (Kernel.Arg a : Kernel.Arg.values()) {
            if (a.c.equals(type)) {
                return a;
            }
        }
        throw new IllegalArgumentException("kernel " + kernel + ": parameter '" + declaration + "' has a type ('" + type
                + "') the launcher does not pass");
    }

    /**
     * What to compile for a device of compute capability {@code major.minor}, given the architectures this
     * NVRTC supports ({@code nvrtcGetSupportedArchs}, e.g. 75, 80, ..., 120): a cubin for the device's own
     * {@code sm_XY} when NVRTC knows it (cubins first: NVRTC 13.1 emits PTX 9.1, which a 13.0 driver
     * refuses); otherwise the device is newer than this NVRTC, so its driver is newer too and can JIT PTX
     * for the newest architecture NVRTC knows below the device ({@code compute_XY}; PTX runs forward).
     */
    static Target target(int major, int minor, int[] supported) {
        int device = major * 10 + minor;
        int best = -1;
        for (int a : supported) {
            if (a == device) {
                return new Target(device, true);
            }
            if (a < device && a > best) {
                best = a;
            }
        }
        if (best < 0) {
            throw new IllegalStateException("NVRTC supports " + java.util.Arrays.toString(supported)
                    + ", none of them compute capability " + major + "." + minor + " or older");
        }
        return new Target(best, false);
    }

    /** An architecture ({@code 10 * major + minor}) and whether to make a cubin ({@code sm_}) or PTX ({@code compute_}). */
    record Target(int arch, boolean cubin) {
        String option() {
            return (cubin ? "sm_" : "compute_") + arch;
        }
    }

    /**
     * NVRTC options for {@code target}. NVRTC spells the architecture option {@code --gpu-architecture=}
     * (or {@code -arch=}); nvcc's {@code --gpu-arch} is refused with NVRTC_ERROR_INVALID_OPTION. No
     * fast-math: the kernels match the reference backend to float32 rounding.
     */
    static List<String> options(Target target) {
        return List.of("--gpu-architecture=" + target.option(), "--std=c++17", "-DBATCHWISE_NVRTC=1");
    }

    /** The cache key of a compiled module: SHA-256 over everything that decides its bytes. */
    static String cacheKey(String compilerVersion, List<String> options, String header, String source) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (String s : List.of(compilerVersion, String.join(" ", options), header, source)) {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                d.update(Integer.toString(b.length).getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
                d.update(b);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
