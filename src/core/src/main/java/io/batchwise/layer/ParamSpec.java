package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.Objects;

/**
 * One parameter or state tensor of a layer.
 *
 * @param name      e.g. {@code weight}, {@code bias}, {@code runningMean}
 * @param shape     full shape, e.g. {@code (out, in)} for a dense weight, {@code (OC, IC, KH, KW)} for a kernel
 * @param init      initial values
 * @param trainable true for parameters the optimizer updates; false for state (BatchNorm running statistics)
 */
public record ParamSpec(String name, Shape shape, Init init, boolean trainable) {
    public ParamSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(init, "init");
    }
}
