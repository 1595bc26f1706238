package io.batchwise.backend;

import io.batchwise.DataType;
import java.util.Objects;

/**
 * What a plan must support.
 *
 * @param dataType       element type of parameters, gradients and state (and of every tensor under
 *                       {@link Precision#FLOAT32})
 * @param training       true: forward keeps what backward needs, backward buffers are planned;
 *                       false: an inference-only plan
 * @param inputGradients true: backward also produces the gradient with respect to the graph inputs
 *                       (tests need it; training does not)
 * @param precision      the numeric policy: {@link Precision#BF16_MIXED} keeps activations and kernel
 *                       weight copies in bf16 (float32 master weights only)
 */
public record PlanOptions(DataType dataType, boolean training, boolean inputGradients, Precision precision) {
    public PlanOptions {
        Objects.requireNonNull(dataType, "dataType");
        Objects.requireNonNull(precision, "precision");
        if (inputGradients && !training) {
            throw new IllegalArgumentException("input gradients need a training plan");
        }
        if (dataType == DataType.BFLOAT16) {
            throw new IllegalArgumentException("parameters are never bf16: use FLOAT32 with Precision.BF16_MIXED");
        }
        if (precision == Precision.BF16_MIXED && dataType != DataType.FLOAT32) {
            throw new IllegalArgumentException("bf16 mixed precision keeps FLOAT32 master weights, not " + dataType);
        }
    }

    /** Float32 precision. */
    public PlanOptions(DataType dataType, boolean training, boolean inputGradients) {
        this(dataType, training, inputGradients, Precision.FLOAT32);
    }

    public static PlanOptions forTraining() {
        return new PlanOptions(DataType.FLOAT32, true, false);
    }

    public static PlanOptions forInference() {
        return new PlanOptions(DataType.FLOAT32, false, false);
    }

    public PlanOptions withInputGradients() {
        return new PlanOptions(dataType, true, true, precision);
    }

    public PlanOptions withDataType(DataType t) {
        return new PlanOptions(t, training, inputGradients, precision);
    }

    public PlanOptions withPrecision(Precision p) {
        return new PlanOptions(dataType, training, inputGradients, p);
    }

    /** Element type of activations and their gradients: {@link Precision#activationType}. */
    public DataType activationType() {
        return precision.activationType(dataType);
    }
}
