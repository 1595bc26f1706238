package io.batchwise.cudnn;

import io.batchwise.Graph;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.PlanOptions;
import io.batchwise.plan.MemoryPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A graph compiled for one micro-batch, as data: every buffer with its size, the forward programs
 * (training and inference), the backward program, and the memory plan that places the step's
 * buffers in one arena. Built by {@link CudnnPlanner} without touching a device.
 */
final class CudnnProgram {
    final Graph graph;
    final int batch;
    final PlanOptions options;
    final List<CudnnBuffer> buffers;
    final List<CudnnOp> forwardTraining;
    final List<CudnnOp> forwardInference;
    final List<CudnnOp.Tagged> backward;
    final Map<String, CudnnBuffer> outputs;
    final Map<String, CudnnBuffer> diffs;
    /** BatchNorm forwards of a training plan by node ({@link CudnnOp.Exact}, inputs mean, variance, inv_std). */
    final Map<String, CudnnOp.Exact> batchNorms;
    final MemoryPlan memory;
    /** Loss buffers of a training plan (null otherwise): targets (labels or values), per-sample losses (double), hits (int). */
    final CudnnBuffer lossTargets;
    final CudnnBuffer lossValues;
    final CudnnBuffer lossCorrect;
    /** The float32 buffers the caller writes, by graph input: the inputs' outputs, or a bf16 plan's float32 buffers. */
    final Map<String, CudnnBuffer> callerInputs;
    /** What the caller and the loss read as the output, and write as its gradient (null in an inference plan). */
    final CudnnBuffer callerOutput;
    final CudnnBuffer callerOutputGradient;

    CudnnProgram(CudnnPlanner p, MemoryPlan memory) {
        this.graph = p.graph;
        this.batch = p.batch;
        this.options = p.options;
        this.buffers = List.copyOf(p.buffers);
        this.forwardTraining = List.copyOf(p.forwardTraining);
        this.forwardInference = List.copyOf(p.forwardInference);
        this.backward = List.copyOf(p.backward);
        this.outputs = Map.copyOf(p.outputs);
        this.diffs = Map.copyOf(p.diffs);
        this.batchNorms = Map.copyOf(p.batchNorms);
        this.memory = memory;
        this.lossTargets = p.lossTargets;
        this.lossValues = p.lossValues;
        this.lossCorrect = p.lossCorrect;
        Map<String, CudnnBuffer> in = new java.util.HashMap<>();
        p.graph.inputs().forEach(n -> in.put(n.name(), p.callerInput(n.name())));
        this.callerInputs = Map.copyOf(in);
        this.callerOutput = p.callerOutput();
        this.callerOutputGradient = p.training ? p.callerOutputGradient() : null;
    }

    /** The backward program of one gradient mode. */
    List<CudnnOp> backward(GradientMode mode) {
        List<CudnnOp> l = new ArrayList<>();
        for (CudnnOp.Tagged t : backward) {
            if (t.only() == null || t.only() == mode) {
                l.add(t.op());
            }
        }
        return l;
    }

    /** Every op a device may be asked to run, each once: the programs' ops, both sides of each {@link CudnnOp.Exact}. */
    List<CudnnOp> allOps() {
        List<CudnnOp> l = new ArrayList<>();
        forwardTraining.forEach(op -> addRunnable(l, op));
        forwardInference.forEach(op -> addRunnable(l, op));
        backward.forEach(t -> addRunnable(l, t.op()));
        return l;
    }

    private static void addRunnable(List<CudnnOp> l, CudnnOp op) {
        if (op instanceof CudnnOp.Exact e) {
            if (e.normal() != null) {
                addRunnable(l, e.normal());
            }
            if (e.fixed() != null) {
                addRunnable(l, e.fixed());
            }
        } else if (!l.contains(op)) {
            l.add(op);
        }
    }

    /** The programs, one op per line: for plan printouts and tests. */
    String listing() {
        StringBuilder sb = new StringBuilder();
        sb.append("forward (training):\n");
        forwardTraining.forEach(op -> sb.append("  ").append(op.label()).append('\n'));
        sb.append("forward (inference):\n");
        forwardInference.forEach(op -> sb.append("  ").append(op.label()).append('\n'));
        sb.append("backward:\n");
        backward.forEach(t -> sb.append("  ").append(t.op().label()).append(t.only() == null ? "" : " [" + t.only() + " only]")
                .append('\n'));
        return sb.toString();
    }
}
