package io.batchwise.testkit;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.BatchNormFix;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.ForwardingBackend;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Wraps a backend and makes allocations fail on purpose, the way a fragmented device or another
 * process would: binding a plan above a micro-batch size, or the n-th call at one of the points where
 * the backend SPI may allocate ({@link Point}), once.
 *
 * <p>Every point is counted (and recorded in order, {@link #reached()}) whether or not a failure is armed,
 * so a fault-free run tells a test how many points there are to fail. A failure is thrown before the call
 * reaches the wrapped backend: the allocation it stands for never happens. Not thread-safe (trainers are not).
 */
public final class FaultInjectingBackend extends ForwardingBackend {
    /**
     * Calls where a backend may run out of memory: {@link Backend#plan} (descriptors, primitives, kernel code; no
     * tensors), {@link Backend#allocate} (parameters, optimizer state, the trainer's step arena), {@link Plan#bind}
     * (an executor's views and argument maps, or its own arena), and a forward or backward pass (a backend that
     * takes workspace lazily). Losses and optimizer arithmetic ({@code VectorOps}) allocate nothing on any backend.
     */
    public enum Point { PLAN, ALLOCATE, BIND, FORWARD, BACKWARD }

    private int failBindAbove = Integer.MAX_VALUE;
    private final List<Point> reached = new ArrayList<>();
    private final Map<Point, Integer> reachedByKind = new EnumMap<>(Point.class);
    private Point armedKind; // null: any kind
    private int armedAt = -1; // 1-based count of armedKind (or of all points) at which to throw; -1: none
    private int injected;
    private Point lastInjected;

    public FaultInjectingBackend(Backend inner) {
        super(inner);
    }

    /** Binding any plan of a micro-batch larger than {@code b} throws (every time). */
    public FaultInjectingBackend failBindAbove(int b) {
        this.failBindAbove = b;
        return this;
    }

    /** The {@code n}-th forward pass from now (1-based) throws, once. */
    public FaultInjectingBackend failForwardCall(int n) {
        return failAt(Point.FORWARD, n);
    }

    /** The {@code n}-th allocation point of any kind from now (1-based) throws, once. */
    public FaultInjectingBackend failAllocation(int n) {
        return arm(null, n);
    }

    /** The {@code n}-th call at {@code kind} from now (1-based) throws, once. */
    public FaultInjectingBackend failAt(Point kind, int n) {
        return arm(java.util.Objects.requireNonNull(kind, "kind"), n);
    }

    private FaultInjectingBackend arm(Point kind, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n counts from 1, got " + n);
        }
        reached.clear();
        reachedByKind.clear();
        armedKind = kind;
        armedAt = n;
        return this;
    }

    /** Starts counting afresh without arming a failure (a dry run). */
    public FaultInjectingBackend count() {
        reached.clear();
        reachedByKind.clear();
        armedAt = -1;
        return this;
    }

    /** The points reached since the last {@code fail*} or {@link #count()} call (or construction), in order. */
    public List<Point> reached() {
        return List.copyOf(reached);
    }

    /** Failures injected so far. */
    public int injected() {
        return injected;
    }

    /** The point of the last injected failure; null when none was. */
    public Point lastInjected() {
        return lastInjected;
    }

    /** Counts a call at {@code p}; throws when it is the armed one. */
    private void reach(Point p, String what) {
        reached.add(p);
        int ofKind = reachedByKind.merge(p, 1, Integer::sum);
        int count = armedKind == null ? reached.size() : armedKind == p ? ofKind : -1;
        if (armedAt > 0 && count == armedAt) {
            armedAt = -1;
            lastInjected = p;
            throw oom(p + " " + count + " (" + what + ")");
        }
    }

    private DeviceOutOfMemoryException oom(String what) {
        injected++;
        return new DeviceOutOfMemoryException("injected: " + what, -1, null);
    }

    @Override
    public Tensor allocate(Shape shape, DataType type) {
        reach(Point.ALLOCATE, "a tensor of shape " + shape);
        return inner.allocate(shape, type);
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
        reach(Point.PLAN, "plan at micro-batch " + microBatch);
        return new ForwardingPlan(inner.plan(graph, microBatch, options)) {
            @Override
            public Executor bind(Parameters parameters) {
                return bind(parameters, null);
            }

            @Override
            public Executor bind(Parameters parameters, Tensor arena) {
                if (microBatch > failBindAbove) {
                    throw oom("bind at micro-batch " + microBatch);
                }
                reach(Point.BIND, "bind at micro-batch " + microBatch);
                return wrap(arena == null ? inner.bind(parameters) : inner.bind(parameters, arena), this);
            }
        };
    }

    private Executor wrap(Executor e, Plan plan) {
        return new Executor() {
            public Plan plan() {
                return plan;
            }

            public Parameters parameters() {
                return e.parameters();
            }

            public Tensor input(String name) {
                return e.input(name);
            }

            public Tensor output() {
                return e.output();
            }

            public Tensor outputGradient() {
                return e.outputGradient();
            }

            public Tensor inputGradient(String name) {
                return e.inputGradient(name);
            }

            public void forward(Pass pass) {
                reach(Point.FORWARD, (pass.training() ? "training" : "inference") + " forward at micro-batch " + plan.microBatch());
                e.forward(pass);
            }

            public LossResult loss(Loss loss, Targets targets, double scale) {
                return e.loss(loss, targets, scale);
            }

            public void backward(GradientMode mode) {
                reach(Point.BACKWARD, "backward at micro-batch " + plan.microBatch());
                e.backward(mode);
            }

            public void batchNormStatistics(String node, double[] mean, double[] variance) {
                e.batchNormStatistics(node, mean, variance);
            }

            public void fixBatchNorm(String node, BatchNormFix fix) {
                e.fixBatchNorm(node, fix);
            }

            public void close() {
                e.close();
            }
        };
    }
}
