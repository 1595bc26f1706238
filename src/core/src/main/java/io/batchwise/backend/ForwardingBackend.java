package io.batchwise.backend;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.plan.MemoryPlan;
import java.util.Objects;
import java.util.Set;

/**
 * A backend that forwards every call to another: the base for decorators that watch or limit
 * allocations (fault injection in tests, a simulated device limit in benchmarks). Subclasses
 * override what they change; {@link #createParameters} allocates through {@code this}, so an
 * overridden {@link #allocate} sees the parameter buffers too.
 */
public abstract class ForwardingBackend implements Backend {
    protected final Backend inner;

    protected ForwardingBackend(Backend inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Availability availability() {
        return inner.availability();
    }

    @Override
    public int priority() {
        return inner.priority();
    }

    @Override
    public Set<DataType> dataTypes() {
        return inner.dataTypes();
    }

    @Override
    public MemoryTracker memory() {
        return inner.memory();
    }

    @Override
    public Tensor allocate(Shape shape, DataType type) {
        return inner.allocate(shape, type);
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
        return inner.plan(graph, microBatch, options);
    }

    @Override
    public io.batchwise.plan.Budget automaticBudget(long hostMarginBytes) {
        return inner.automaticBudget(hostMarginBytes);
    }

    @Override
    public VectorOps vectors() {
        return inner.vectors();
    }

    @Override
    public ParameterLayout parameterLayout(Graph graph) {
        return inner.parameterLayout(graph);
    }

    @Override
    public java.util.Map<String, Parameters.Order> parameterOrders(Graph graph) {
        return inner.parameterOrders(graph);
    }

    @Override
    public Parameters createParameters(Graph graph, DataType type) {
        return Parameters.allocate(this, graph, type);
    }

    /** A plan that forwards every call to another; override {@code bind} to watch binding. */
    public static class ForwardingPlan implements Plan {
        protected final Plan inner;

        public ForwardingPlan(Plan inner) {
            this.inner = Objects.requireNonNull(inner, "inner");
        }

        @Override
        public Graph graph() {
            return inner.graph();
        }

        @Override
        public int microBatch() {
            return inner.microBatch();
        }

        @Override
        public PlanOptions options() {
            return inner.options();
        }

        @Override
        public MemoryPlan memory() {
            return inner.memory();
        }

        @Override
        public Executor bind(Parameters parameters) {
            return inner.bind(parameters);
        }

        @Override
        public Executor bind(Parameters parameters, Tensor arena) {
            return inner.bind(parameters, arena);
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
