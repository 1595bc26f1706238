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
     * NVRTC options for a device of compute capability {@code major.minor}: machine code for that exact
     * architecture ({@code sm_XY}, loaded as a cubin), or portable PTX ({@code compute_XY}) that the
     * driver compiles when NVRTC does not know the architecture. No fast-math: the kernels match the
     * reference backend to float32 rounding.
     */
    static List<String> options(int major, int minor, boolean cubin) {
        return List.of("--gpu-arch=" + (cubin ? "sm_" : "compute_") + major + minor, "--std=c++17", "-DBATCHWISE_NVRTC=1");
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
