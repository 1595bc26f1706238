package io.batchwise.backend;

import io.batchwise.DataType;
import java.util.Locale;

/**
 * The numeric policy of a training or inference plan ({@link PlanOptions#precision()}, the trainer's
 * {@code precision(...)} option, the CLI's {@code --precision fp32|bf16}).
 *
 * <p>{@link #BF16_MIXED}: activations, their gradients and the weight copies the kernels read are
 * bfloat16 (2 bytes), so a micro-batch's activation memory halves and the planner fits about twice the
 * micro-batch; master weights, weight gradients (written in float32 from bf16 inputs), BatchNorm
 * statistics, losses, optimizer state and the accumulation over micro-batches stay float32. bf16 keeps
 * float32's exponent, so no loss scaling is needed. A backend without native bf16 kernels refuses it
 * rather than emulate it slowly.
 */
public enum Precision {
    /** Everything in the plan's {@link PlanOptions#dataType()} (float32 by default). */
    FLOAT32("fp32"),
    /** bf16 activations and kernel weight copies, float32 master weights, gradients, statistics and state. */
    BF16_MIXED("bf16");

    private final String label;

    Precision(String label) {
        this.label = label;
    }

    /** The short name the CLI and plan tables use: {@code fp32}, {@code bf16}. */
    public String label() {
        return label;
    }

    /** The element type of activations and their gradients under this policy, for master weights of {@code master}. */
    public DataType activationType(DataType master) {
        return this == BF16_MIXED ? DataType.BFLOAT16 : master;
    }

    /** {@code fp32} / {@code float32} or {@code bf16} / {@code bf16-mixed} (case-insensitive). */
    public static Precision parse(String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "fp32", "float32", "f32":
                return FLOAT32;
            case "bf16", "bf16-mixed", "bf16_mixed", "bfloat16":
                return BF16_MIXED;
            default:
                throw new IllegalArgumentException("unknown precision '" + s + "': use fp32 or bf16");
        }
    }
}
