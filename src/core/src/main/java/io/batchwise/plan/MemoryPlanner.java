package io.batchwise.plan;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.Backend;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.layer.ParamSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses the largest micro-batch whose training step fits a memory budget, from the backend's own
 * plans (real descriptor sizes, workspaces and scratchpads) before anything is allocated.
 *
 * <p>Model: {@code peak(b) = fixed + arena(b)}, where {@code fixed} is what the graph's
 * {@code Parameters} hold (values, gradients, state) plus the optimizer state, and {@code arena(b)}
 * the step buffers of a plan for micro-batch {@code b} laid out by lifetime
 * ({@link MemoryPlan#arena()}). The trainer carves a short last micro-batch from the same arena
 * ({@link io.batchwise.backend.Plan#bind(io.batchwise.backend.Parameters, io.batchwise.backend.Tensor)}),
 * so it adds nothing. The search starts from a linear fit through {@code b = 1, 2} and compiles only a few
 * more plans to confirm the boundary.
 */
public final class MemoryPlanner {
    private MemoryPlanner() {
    }

    /** One row of the readable plan. */
    public record LayerRow(String node, String type, long parameterBytes, long activationBytesPerSample, long workspaceBytes) {
    }

    /**
     * The planner's answer.
     *
     * @param effectiveBatch     B, what the optimizer sees
     * @param microBatch         b, samples per forward/backward pass
     * @param accumulationSteps  k = ceil(B / b)
     * @param fixedBytes         parameters, gradients, state and optimizer state
     * @param arenaBytes         the step buffers at micro-batch b
     * @param predictedPeakBytes fixed + arena
     * @param budget             the budget it was planned against
     * @param plansCompiled      plans the search compiled
     * @param nanos              time the decision took
     * @param precision          the numeric policy the plans were compiled with (activation bytes depend on it)
     */
    public record Decision(int effectiveBatch, int microBatch, int accumulationSteps, long fixedBytes, long arenaBytes,
                           long predictedPeakBytes, Budget budget, List<LayerRow> layers, int plansCompiled, long nanos,
                           Precision precision) {

        public Decision {
            java.util.Objects.requireNonNull(precision, "precision");
        }

        /** A float32 decision. */
        public Decision(int effectiveBatch, int microBatch, int accumulationSteps, long fixedBytes, long arenaBytes,
                        long predictedPeakBytes, Budget budget, List<LayerRow> layers, int plansCompiled, long nanos) {
            this(effectiveBatch, microBatch, accumulationSteps, fixedBytes, arenaBytes, predictedPeakBytes, budget, layers,
                    plansCompiled, nanos, Precision.FLOAT32);
        }

        /** Per-layer table, totals, the chosen b and k, and the predicted peak against the budget. */
        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(precision == Precision.BF16_MIXED
                    ? String.format("precision bf16 (mixed): activations, their gradients and kernel weight copies 2 bytes;"
                            + " master weights, gradients, statistics and optimizer state 4 bytes%n")
                    : String.format("precision fp32: every tensor 4 bytes%n"));
            sb.append(String.format("%-14s %-16s %14s %18s %14s%n", "layer", "type", "param bytes", "act. bytes/sample", "workspace"));
            long p = 0;
            long a = 0;
            long w = 0;
            for (LayerRow r : layers) {
                sb.append(String.format("%-14s %-16s %,14d %,18d %,14d%n", r.node(), r.type(), r.parameterBytes(),
                        r.activationBytesPerSample(), r.workspaceBytes()));
                p += r.parameterBytes();
                a += r.activationBytesPerSample();
                w += r.workspaceBytes();
            }
            sb.append(String.format("%-14s %-16s %,14d %,18d %,14d%n", "total", "", p, a, w));
            sb.append(String.format("effective batch %d = %d micro-batch(es) of at most %d%n", effectiveBatch, accumulationSteps, microBatch));
            sb.append(String.format("predicted peak %s (fixed %s + step arena %s) of budget %s: %.0f%%%n",
                    Budget.human(predictedPeakBytes), Budget.human(fixedBytes), Budget.human(arenaBytes), budget,
                    100.0 * predictedPeakBytes / budget.bytes()));
            return sb.toString();
        }
    }

    /** Thrown when not even one sample fits; says how much is needed and how much there is. */
    public static final class InsufficientMemoryException extends IllegalStateException {
        private final long neededBytes;
        private final long availableBytes;

        InsufficientMemoryException(long needed, long fixed, long step, Budget budget, boolean training) {
            super(String.format("a%s needs %s for one sample (parameters, gradients%s %s + step buffers %s) but the memory"
                            + " budget is %s: raise the budget by at least %s", training ? " training step" : "n inference pass",
                    Budget.human(needed), training ? " and optimizer state" : " and state", Budget.human(fixed), Budget.human(step),
                    budget, Budget.human(needed - budget.bytes())));
            this.neededBytes = needed;
            this.availableBytes = budget.bytes();
        }

        public long neededBytes() {
            return neededBytes;
        }

        public long availableBytes() {
            return availableBytes;
        }
    }

    /**
     * Bytes of Parameters (values, gradients, state) plus {@code optimizerSlots} parameter-sized state tensors, in
     * the packed layout; {@link #fixedBytes(ParameterLayout, DataType, int)} for a backend's own.
     */
    public static long fixedBytes(Graph graph, DataType type, int optimizerSlots) {
        return fixedBytes(new ParameterLayout(graph), type, optimizerSlots);
    }

    /** {@link #fixedBytes(Graph, DataType, int)} in {@code l}, its alignment padding included ({@link Backend#parameterLayout}). */
    public static long fixedBytes(ParameterLayout l, DataType type, int optimizerSlots) {
        long t = Math.max(1, l.trainableSize());
        long s = Math.max(1, l.stateSize());
        return (t * (2 + optimizerSlots) + s) * type.bytes();
    }

    /**
     * The largest micro-batch {@code b <= effectiveBatch} whose step fits {@code budget}.
     *
     * @throws InsufficientMemoryException when even {@code b = 1} does not fit
     */
    public static Decision plan(Backend backend, Graph graph, int optimizerSlots, int effectiveBatch, Budget budget) {
        return plan(backend, graph, optimizerSlots, effectiveBatch, budget, Precision.FLOAT32);
    }

    /**
     * {@link #plan(Backend, Graph, int, int, Budget)} for plans in {@code precision}: under
     * {@link Precision#BF16_MIXED} the backend's plans hold 2-byte activations (and bf16 weight copies as
     * workspaces), while the fixed bytes (float32 master weights, gradients, optimizer state) do not change.
     */
    public static Decision plan(Backend backend, Graph graph, int optimizerSlots, int effectiveBatch, Budget budget,
                                Precision precision) {
        return search(backend, graph, PlanOptions.forTraining().withPrecision(precision),
                fixedBytes(backend.parameterLayout(graph), DataType.FLOAT32, optimizerSlots), effectiveBatch, budget);
    }

    /**
     * The largest batch {@code b <= maxBatch} whose inference pass ({@link PlanOptions#forInference()}: no
     * activation gradients, no workspaces kept for backward, no optimizer state) fits {@code budget} beside the
     * graph's {@code Parameters} (values, state, and the gradient buffer {@code Parameters} always allocates, unused
     * here); {@link Decision#effectiveBatch()} is {@code maxBatch}.
     *
     * @throws InsufficientMemoryException when even {@code b = 1} does not fit
     */
    public static Decision planInference(Backend backend, Graph graph, int maxBatch, Budget budget) {
        return planInference(backend, graph, maxBatch, budget, Precision.FLOAT32);
    }

    /** {@link #planInference(Backend, Graph, int, Budget)} for plans in {@code precision}. */
    public static Decision planInference(Backend backend, Graph graph, int maxBatch, Budget budget, Precision precision) {
        return search(backend, graph, PlanOptions.forInference().withPrecision(precision), fixedBytes(backend.parameterLayout(graph), DataType.FLOAT32, 0),
                maxBatch, budget);
    }

    private static Decision search(Backend backend, Graph graph, PlanOptions options, long fixed, int effectiveBatch,
                                   Budget budget) {
        if (effectiveBatch <= 0) {
            throw new IllegalArgumentException("the effective batch must be positive, got " + effectiveBatch);
        }
        long t0 = System.nanoTime();
        Map<Integer, MemoryPlan> plans = new HashMap<>(); // each size compiled once; the table reuses the answer's
        java.util.function.IntFunction<MemoryPlan> planAt = b -> plans.computeIfAbsent(b, x -> {
            try (Plan p = backend.plan(graph, x, options)) {
                return p.memory();
            }
        });
        java.util.function.IntToLongFunction arena = b -> planAt.apply(b).arena().bytes();
        long room = budget.bytes() - fixed;
        long one = arena.applyAsLong(1);
        if (one > room) {
            throw new InsufficientMemoryException(fixed + one, fixed, one, budget, options.training());
        }
        // Invariant: lo fits; hi does not (or hi = B + 1). Each candidate comes from the line through the
        // nearest known points (arena sizes are close to linear in b), or from bisection after two line
        // steps in a row landed on the same side, so the search ends in O(log B) plans even when arenas
        // are far from linear; near-linear arenas take about 4 plans (b = 1, 2, the guess, guess + 1).
        int lo = 1;
        int hi = effectiveBatch + 1;
        int sameSide = 0;
        Boolean lastFit = null;
        for (int round = 0; hi - lo > 1; round++) {
            int c;
            if (sameSide >= 2) {
                c = (lo + hi) >>> 1;
                sameSide = 0;
                lastFit = null;
            } else {
                int from = lo > 1 || !plans.containsKey(2) ? lo : 2;
                int other = hi <= effectiveBatch ? hi : (lo > 1 ? 1 : 2);
                if (!plans.containsKey(other)) {
                    c = other;
                } else {
                    double slope = (arena.applyAsLong(other) - arena.applyAsLong(from)) / (double) (other - from);
                    c = slope <= 0 ? hi - 1 : (int) Math.min(Integer.MAX_VALUE, from + Math.floor((room - arena.applyAsLong(from)) / slope));
                }
            }
            c = Math.max(lo + 1, Math.min(hi - 1, c));
            boolean fit = arena.applyAsLong(c) <= room;
            if (fit) {
                lo = c;
            } else {
                hi = c;
            }
            if (round > 0) { // round 0 only measures b = 2 for the first slope
                sameSide = lastFit != null && lastFit == fit ? sameSide + 1 : 1;
                lastFit = fit;
            }
        }
        int best = lo;
        MemoryPlan chosen = planAt.apply(best);
        long a = chosen.arena().bytes();
        return new Decision(effectiveBatch, best, (effectiveBatch + best - 1) / best, fixed, a, fixed + a, budget,
                layers(graph, chosen, best), plans.size(), System.nanoTime() - t0, options.precision());
    }

    /**
     * The plan for a micro-batch chosen by the caller ({@code min(microBatch, effectiveBatch)}), with its
     * predicted peak; it may exceed {@code budget}: compare {@link Decision#predictedPeakBytes()}.
     */
    public static Decision evaluate(Backend backend, Graph graph, int optimizerSlots, int effectiveBatch, int microBatch,
                                    Budget budget) {
        return evaluate(backend, graph, optimizerSlots, effectiveBatch, microBatch, budget, Precision.FLOAT32);
    }

    /** {@link #evaluate(Backend, Graph, int, int, int, Budget)} for a plan in {@code precision}. */
    public static Decision evaluate(Backend backend, Graph graph, int optimizerSlots, int effectiveBatch, int microBatch,
                                    Budget budget, Precision precision) {
        long t0 = System.nanoTime();
        int b = Math.min(microBatch, effectiveBatch);
        long fixed = fixedBytes(backend.parameterLayout(graph), DataType.FLOAT32, optimizerSlots);
        try (Plan p = backend.plan(graph, b, PlanOptions.forTraining().withPrecision(precision))) {
            long arena = p.memory().arena().bytes();
            return new Decision(effectiveBatch, b, (effectiveBatch + b - 1) / b, fixed, arena, fixed + arena, budget,
                    layers(graph, p.memory(), b), 1, System.nanoTime() - t0, precision);
        }
    }

    /** Per-layer parameter, activation (per sample) and workspace bytes from a plan at {@code b}. */
    static List<LayerRow> layers(Graph graph, MemoryPlan memory, int b) {
        Map<String, long[]> perNode = new HashMap<>();
        for (MemoryPlan.Buffer buf : memory.buffers()) {
            if (buf.node() == null || MemoryPlan.shared(buf.kind())) {
                continue;
            }
            long[] v = perNode.computeIfAbsent(buf.node(), x -> new long[2]);
            switch (buf.kind()) {
                case INPUT, ACTIVATION, ACTIVATION_GRADIENT -> v[0] += buf.bytes();
                default -> v[1] += buf.bytes();
            }
        }
        List<LayerRow> rows = new ArrayList<>();
        for (Node n : graph.nodes()) {
            long params = 0;
            for (ParamSpec s : n.params()) {
                params += s.shape().size() * DataType.FLOAT32.bytes();
            }
            long[] v = perNode.getOrDefault(n.name(), new long[2]);
            rows.add(new LayerRow(n.name(), n.layer().typeName(), params, v[0] / b, v[1]));
        }
        return rows;
    }
}
