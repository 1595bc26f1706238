package io.batchwise.cudnn;

import java.util.List;

/**
 * Every kernel of {@code native/cuda} the backend launches, with the file that defines it and its
 * parameter types in order. {@link KernelCall} checks each launch against these types, and
 * KernelSourcesTest checks them against the C signatures, so a launch cannot pass an argument of the
 * wrong size or miss one.
 */
enum Kernel {
    LEAKY_RELU_FORWARD("layers.cu", "leaky_relu_forward", Arg.I64, Arg.F32, Arg.PTR, Arg.PTR),
    LEAKY_RELU_FORWARD_BF16("layers.cu", "leaky_relu_forward_bf16", Arg.I64, Arg.F32, Arg.PTR, Arg.PTR),
    LEAKY_RELU_BACKWARD("layers.cu", "leaky_relu_backward", Arg.I64, Arg.F32, Arg.PTR, Arg.PTR, Arg.F32, Arg.PTR),
    LEAKY_RELU_BACKWARD_BF16("layers.cu", "leaky_relu_backward_bf16", Arg.I64, Arg.F32, Arg.PTR, Arg.PTR, Arg.F32, Arg.PTR),
    GELU_FORWARD("layers.cu", "gelu_forward", Arg.I64, Arg.PTR, Arg.PTR),
    GELU_FORWARD_BF16("layers.cu", "gelu_forward_bf16", Arg.I64, Arg.PTR, Arg.PTR),
    GELU_BACKWARD("layers.cu", "gelu_backward", Arg.I64, Arg.PTR, Arg.PTR, Arg.F32, Arg.PTR),
    GELU_BACKWARD_BF16("layers.cu", "gelu_backward_bf16", Arg.I64, Arg.PTR, Arg.PTR, Arg.F32, Arg.PTR),
    SLICE_COPY("layers.cu", "slice_copy", Arg.I64, Arg.I64, Arg.PTR, Arg.I64, Arg.I64, Arg.PTR, Arg.I64, Arg.I64, Arg.F32),
    SLICE_COPY_BF16("layers.cu", "slice_copy_bf16", Arg.I64, Arg.I64, Arg.PTR, Arg.I64, Arg.I64, Arg.PTR, Arg.I64, Arg.I64,
            Arg.F32),
    DROPOUT_MASK("layers.cu", "dropout_mask", Arg.I64, Arg.I64, Arg.U64, Arg.I64, Arg.F32, Arg.F32, Arg.PTR),
    DROPOUT_MASK_BF16("layers.cu", "dropout_mask_bf16", Arg.I64, Arg.I64, Arg.U64, Arg.I64, Arg.F32, Arg.F32, Arg.PTR),
    BATCH_NORM_EXACT_CORRECTION("layers.cu", "batch_norm_exact_correction", Arg.I64, Arg.I64, Arg.I64, Arg.PTR, Arg.PTR,
            Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR),
    BATCH_NORM_EXACT_CORRECTION_BF16("layers.cu", "batch_norm_exact_correction_bf16", Arg.I64, Arg.I64, Arg.I64, Arg.PTR,
            Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR),
    VEC_FILL("vector.cu", "vec_fill", Arg.I64, Arg.F32, Arg.PTR),
    VEC_FILL_BF16("vector.cu", "vec_fill_bf16", Arg.I64, Arg.F32, Arg.PTR),
    VEC_AXPBY("vector.cu", "vec_axpby", Arg.I64, Arg.F32, Arg.PTR, Arg.F32, Arg.PTR),
    VEC_AXPBY_BF16("vector.cu", "vec_axpby_bf16", Arg.I64, Arg.F32, Arg.PTR, Arg.F32, Arg.PTR),
    CONVERT_F32_BF16("vector.cu", "convert_f32_bf16", Arg.I64, Arg.PTR, Arg.PTR),
    CONVERT_BF16_F32("vector.cu", "convert_bf16_f32", Arg.I64, Arg.PTR, Arg.F32, Arg.PTR),
    VEC_AXPBY_FLUSHED("vector.cu", "vec_axpby_flushed", Arg.I64, Arg.F32, Arg.PTR, Arg.F32, Arg.PTR),
    VEC_MUL("vector.cu", "vec_mul", Arg.I64, Arg.PTR, Arg.PTR, Arg.F32, Arg.PTR),
    VEC_MUL_BF16("vector.cu", "vec_mul_bf16", Arg.I64, Arg.PTR, Arg.PTR, Arg.F32, Arg.PTR),
    VEC_DIV("vector.cu", "vec_div", Arg.I64, Arg.PTR, Arg.PTR, Arg.PTR),
    VEC_SQRT("vector.cu", "vec_sqrt", Arg.I64, Arg.PTR, Arg.PTR),
    VEC_LINEAR("vector.cu", "vec_linear", Arg.I64, Arg.F32, Arg.PTR, Arg.F32, Arg.PTR),
    VEC_SUM_SQUARES("vector.cu", "vec_sum_squares", Arg.I64, Arg.PTR, Arg.PTR),
    VEC_SUM("vector.cu", "vec_sum", Arg.I64, Arg.PTR, Arg.PTR),
    ADAM_STEP("vector.cu", "adam_step", Arg.I64, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32,
            Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR),
    ADAGRAD_STEP("vector.cu", "adagrad_step", Arg.I64, Arg.F32, Arg.F32, Arg.F32, Arg.I32, Arg.F32, Arg.PTR, Arg.PTR, Arg.PTR),
    RMSPROP_STEP("vector.cu", "rmsprop_step", Arg.I64, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.PTR, Arg.PTR,
            Arg.PTR, Arg.PTR, Arg.PTR),
    ADADELTA_STEP("vector.cu", "adadelta_step", Arg.I64, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.F32, Arg.PTR, Arg.PTR, Arg.PTR,
            Arg.PTR),
    SOFTMAX_CROSS_ENTROPY("loss.cu", "softmax_cross_entropy", Arg.I64, Arg.I32, Arg.F32, Arg.F64, Arg.PTR, Arg.PTR, Arg.PTR,
            Arg.PTR, Arg.PTR),
    SQUARED_ERROR("loss.cu", "squared_error", Arg.I64, Arg.I64, Arg.F64, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR);

    /** A kernel parameter's type: its C spelling and size in bytes. */
    enum Arg {
        I32("int", 4), I64("long long", 8), U64("unsigned long long", 8), F32("float", 4), F64("double", 8),
        /** Any device pointer ({@code const float*}, {@code int*}, ...). */
        PTR("pointer", 8);

        final String c;
        final int bytes;

        Arg(String c, int bytes) {
            this.c = c;
            this.bytes = bytes;
        }
    }

    /** Threads per block of every launch (BW_REDUCE_THREADS in batchwise.cuh for the reductions). */
    static final int BLOCK = 256;

    final String file;
    final String symbol;
    final List<Arg> args;

    Kernel(String file, String symbol, Arg... args) {
        this.file = file;
        this.symbol = symbol;
        this.args = List.of(args);
    }

    /** Whether this is the bf16 entry point of a kernel over activations ({@code name_bf16}). */
    boolean bf16() {
        return symbol.endsWith("_bf16");
    }

    /** The entry point for activations like {@code b}: this kernel, or its {@code _bf16} twin for a bf16 buffer. */
    Kernel forType(CudnnBuffer b) {
        return b.bf16() ? valueOf(name() + "_BF16") : this;
    }
}
