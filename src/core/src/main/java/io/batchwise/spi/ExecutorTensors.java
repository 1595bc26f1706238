package io.batchwise.spi;

import io.batchwise.Node;
import io.batchwise.backend.Plan;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Input;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The tensors an executor hands its caller: each input by name, the output, the output's gradient (training plans) and
 * the inputs' gradients (plans compiled with input gradients). A backend names its tensors once when it binds; the
 * lookups and their errors are the same for every backend.
 *
 * @param <T> the backend's tensor type
 */
public final class ExecutorTensors<T extends Tensor> {
    private final Plan plan;
    private final Map<String, T> inputs = new LinkedHashMap<>();
    private final Map<String, T> inputGradients = new LinkedHashMap<>();
    private final T output;
    private final T outputGradient; // null: an inference plan

    /**
     * @param input          the tensor a graph input's samples are written to
     * @param inputGradient  the tensor holding a graph input's gradient, or null where the plan keeps none (asked only
     *                       when the plan's options promise input gradients)
     * @param output         the tensor holding the graph's output
     * @param outputGradient the tensor holding the output's gradient; null for an inference plan
     */
    public ExecutorTensors(Plan plan, Function<Node, T> input, Function<Node, T> inputGradient, T output, T outputGradient) {
        this.plan = plan;
        this.output = output;
        this.outputGradient = outputGradient;
        for (Node n : plan.graph().inputs()) {
            inputs.put(n.name(), input.apply(n));
            T g = plan.options().inputGradients() ? inputGradient.apply(n) : null;
            if (g != null) {
                inputGradients.put(n.name(), g);
            }
        }
    }

    public T input(String name) {
        T t = inputs.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no input node named '" + name + "'; inputs: " + inputs.keySet());
        }
        return t;
    }

    public T output() {
        return output;
    }

    public T outputGradient() {
        if (outputGradient == null) {
            throw new IllegalStateException("an inference plan has no output gradient; compile with PlanOptions.forTraining()");
        }
        return outputGradient;
    }

    public T inputGradient(String name) {
        if (!plan.options().inputGradients()) {
            throw new IllegalStateException("the plan was compiled without input gradients; use PlanOptions.withInputGradients()");
        }
        T t = inputGradients.get(name);
        if (t == null) {
            if (plan.graph().node(name).layer() instanceof Input) {
                throw new IllegalStateException("input '" + name + "' has no gradient buffer");
            }
            throw new IllegalArgumentException("'" + name + "' is not an input node; inputs: " + inputs.keySet());
        }
        return t;
    }
}
