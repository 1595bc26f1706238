package io.batchwise.reference;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;

/** Test helper: a graph planned, bound and fed with exact doubles on a fresh reference backend. */
final class RefRun implements AutoCloseable {
    final ReferenceBackend backend = new ReferenceBackend();
    final Parameters params;
    final Plan plan;
    final Executor ex;

    RefRun(Graph g, int batch) {
        this(g, batch, DataType.FLOAT64);
    }

    RefRun(Graph g, int batch, DataType type) {
        params = backend.createParameters(g, type).initialize(1);
        plan = backend.plan(g, batch, new PlanOptions(type, true, true));
        ex = plan.bind(params);
    }

    /** Sets a parameter (or state) tensor to exact values. */
    RefRun param(String node, String name, double... v) {
        ParameterLayout.Slot s = params.layout().slot(node, name);
        HostTensor t = (HostTensor) (s.spec().trainable() ? params.values() : params.state());
        for (int i = 0; i < v.length; i++) {
            t.set(s.offset() + i, v[i]);
        }
        return this;
    }

    RefRun input(String name, double... v) {
        ex.input(name).writeDoubles(v);
        return this;
    }

    double[] forward() {
        return forward(Pass.training(7, 0));
    }

    double[] forward(Pass pass) {
        ex.forward(pass);
        return ex.output().toDoubles();
    }

    /** Backpropagates {@code dy} and returns the gradient of input {@code x}. */
    double[] backward(double... dy) {
        ex.outputGradient().writeDoubles(dy);
        ex.backward(GradientMode.OVERWRITE);
        return ex.inputGradient("x").toDoubles();
    }

    double[] state(String node, String name) {
        ParameterLayout.Slot s = params.layout().slot(node, name);
        double[] all = params.state().toDoubles();
        return java.util.Arrays.copyOfRange(all, (int) s.offset(), (int) (s.offset() + s.size()));
    }

    double[] gradient(String node, String name) {
        ParameterLayout.Slot s = params.layout().slot(node, name);
        double[] all = params.gradients().toDoubles();
        return java.util.Arrays.copyOfRange(all, (int) s.offset(), (int) (s.offset() + s.size()));
    }

    @Override
    public void close() {
        ex.close();
        plan.close();
        params.close();
    }
}
