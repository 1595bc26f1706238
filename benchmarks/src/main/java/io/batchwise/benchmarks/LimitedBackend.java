package io.batchwise.benchmarks;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.ForwardingBackend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;

/**
 * A device of {@code limitBytes}: wraps a backend and throws {@link DeviceOutOfMemoryException} whenever an
 * allocation would take the backend's tracked live bytes ({@code memory().liveBytes()}) above the limit,
 * checked at {@link #allocate} and at {@link Plan#bind(Parameters)} (whose arena is
 * {@code plan.memory().arena().bytes()}). Everything else is the inner backend's.
 *
 * <p>After the first out-of-memory error the device is "tripped": every later {@link #plan} and
 * {@link #allocate} throws {@link Tripped} until {@link #reset()}. That ends a trial step at its first
 * out-of-memory error, as a trial-and-error batch-size finder does; without it the trainer would recover
 * on its own (halve the micro-batch, redo the step) and the trial would spend a second step.
 */
final class LimitedBackend extends ForwardingBackend {
    /** A trial ended by an out-of-memory error on this device. */
    static final class Tripped extends RuntimeException {
        Tripped(String message) {
            super(message, null, false, false);
        }
    }

    private final long limitBytes;
    private DeviceOutOfMemoryException first;

    LimitedBackend(Backend inner, long limitBytes) {
        super(inner);
        this.limitBytes = limitBytes;
    }

    /** The out-of-memory error since the last {@link #reset()}, or null. */
    DeviceOutOfMemoryException tripped() {
        return first;
    }

    void reset() {
        first = null;
    }

    private void reserve(long bytes, String what) {
        if (first != null) {
            throw new Tripped("after an out-of-memory error: " + first.getMessage());
        }
        long live = inner.memory().liveBytes();
        if (live + bytes > limitBytes) {
            first = new DeviceOutOfMemoryException(String.format("%s of %,d bytes with %,d live exceeds the device's %,d",
                    what, bytes, live, limitBytes), bytes, null);
            throw first;
        }
    }

    @Override
    public Tensor allocate(Shape shape, DataType type) {
        reserve(shape.size() * type.bytes(), "tensor " + shape);
        return inner.allocate(shape, type);
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
        reserve(0, "plan"); // a tripped device compiles nothing
        return new ForwardingPlan(inner.plan(graph, microBatch, options)) {
            @Override
            public Executor bind(Parameters parameters) {
                reserve(memory().arena().bytes(), "step arena at micro-batch " + microBatch);
                return inner.bind(parameters);
            }
            // bind(parameters, arena) is forwarded as is: the arena came through allocate()
        };
    }
}
