package io.batchwise.onednn;

import java.util.Locale;
import java.util.Set;

/**
 * Whether this CPU runs bf16 natively, from oneDNN's effective ISA ({@code dnnl_get_effective_cpu_isa}, which
 * also honours {@code ONEDNN_MAX_CPU_ISA}). Native bf16 arithmetic came with AVX512_BF16 ({@code avx512_core_bf16}:
 * Cooper Lake, AMD Zen 4/5) and every ISA oneDNN lists after it (AVX512-FP16, AVX10, AMX). Below that oneDNN only
 * emulates bf16, 3-4x slower than float32, so bf16 mixed precision is refused there rather than silently slow.
 */
final class OneDnnBf16 {
    /** oneDNN {@code cpu_isa} names with native bf16 dot products. */
    static final Set<String> NATIVE = Set.of("avx512_core_bf16", "avx10_1_512", "avx512_core_fp16", "avx10_1_512_amx",
            "avx512_core_amx", "avx10_1_512_amx_fp16", "avx512_core_amx_fp16", "avx10_2_512", "avx10_2_512_amx_2");

    private OneDnnBf16() {
    }

    /** The effective ISA of the loaded oneDNN, e.g. {@code avx512_core_bf16}. */
    static String effectiveIsa() {
        OneDnnRuntime.get();
        return org.bytedeco.dnnl.global.dnnl.get_effective_cpu_isa().toString();
    }

    /** Null when {@code isa} runs bf16 natively; otherwise why bf16 mixed precision is refused, naming the ISA. */
    static String refusal(String isa) {
        String name = isa == null ? "unknown" : isa.toLowerCase(Locale.ROOT);
        if (NATIVE.contains(name)) {
            return null;
        }
        return "bf16 mixed precision needs a CPU with native bf16 (AVX512_BF16, oneDNN ISA avx512_core_bf16, or AMX,"
                + " avx512_core_amx), but oneDNN's effective ISA here is " + name + ", which lacks it: oneDNN would emulate"
                + " bf16 3-4x slower than float32, so it is refused; train with --precision fp32 (Precision.FLOAT32)";
    }
}
