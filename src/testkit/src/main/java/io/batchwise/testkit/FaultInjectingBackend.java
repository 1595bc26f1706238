package io.batchwise.testkit;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.ForwardingBackend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wraps a backend and makes allocations fail on purpose, the way a fragmented device or another
 * process would: binding a plan above a micro-batch size, or the n-th forward pass of the run.
 */
public final class FaultInjectingBackend extends ForwardingBackend {
    private volatile int failBindAbove = Integer.MAX_VALUE;
    private final AtomicInteger forwardCalls = new AtomicInteger();
    private volatile int failForwardCall = -1;
    private final AtomicInteger injected = new AtomicInteger();

    public FaultInjectingBackend(Backend inner) {
        super(inner);
    }

    /** Binding any plan of a micro-batch larger than {@code b} throws. */
    public FaultInjectingBackend failBindAbove(int b) {
        this.failBindAbove = b;
        return this;
    }

    /** The {@code n}-th forward pass from now (1-based) throws, once. */
    public FaultInjectingBackend failForwardCall(int n) {
        forwardCalls.set(0);
        this.failForwardCall = n;
        return this;
    }

    /** Failures injected so far. */
    public int injected() {
        return injected.get();
    }

    private DeviceOutOfMemoryException oom(String what) {
        injected.incrementAndGet();
        return new DeviceOutOfMemoryException("injected: " + what, -1, null);
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
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
                if (forwardCalls.incrementAndGet() == failForwardCall) {
                    throw oom("forward call " + failForwardCall);
                }
                e.forward(pass);
            }

            public LossResult loss(Loss loss, Targets targets, double scale) {
                return e.loss(loss, targets, scale);
            }

            public void backward(GradientMode mode) {
                e.backward(mode);
            }

            public void close() {
                e.close();
            }
        };
    }
}
