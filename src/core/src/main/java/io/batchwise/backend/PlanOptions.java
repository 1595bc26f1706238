package io.batchwise.backend;

import io.batchwise.DataType;
import java.util.Objects;

/**
 * What a plan must support.
 *
 * @param dataType       element type of every tensor
 * @param training       true: forward keeps what backward needs, backward buffers are planned;
 *                       false: an inference-only plan
 * @param inputGradients true: backward also produces the gradient with respect to the graph inputs
 *                       (tests need it; training does not)
 */
public record PlanOptions(DataType dataType, boolean training, boolean inputGradients) {
    public PlanOptions {
        Objects.requireNonNull(dataType, "dataType");
        if (inputGradients && !training) {
            throw new IllegalArgumentException("input gradients need a training plan");
        }
    }

    public static PlanOptions forTraining() {
        return new PlanOptions(DataType.FLOAT32, true, false);
    }

    public static PlanOptions forInference() {
        return new PlanOptions(DataType.FLOAT32, false, false);
    }

    public PlanOptions withInputGradients() {
        return new PlanOptions(dataType, true, true);
    }

    public PlanOptions withDataType(DataType t) {
        return new PlanOptions(t, training, inputGradients);
    }
}
