package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Precision;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import java.util.Locale;

/** Picks the backend and the micro-batch; shared by {@code train} and {@code plan}. */
final class Planning {
    private Planning() {
    }

    /** A backend and why it was chosen. */
    record Chosen(Backend backend, String reason) {
    }

    /**
     * {@code auto}: {@link Backends#auto()}'s choice and reason; a name: that backend, or the
     * exception {@link Backends#get} throws (an unknown name lists the backends on the class path).
     */
    static Chosen backend(String name) {
        if (name.equals("auto")) {
            Backends.Choice c = Backends.auto();
            return new Chosen(c.backend(), "auto: " + c.reason());
        }
        Backend b = Backends.get(name);
        return new Chosen(b, "--backend " + name + " (" + b.availability().reason() + ")");
    }

    /** A micro-batch the planner chose or the user gave, with the plan's numbers. */
    record Result(MemoryPlanner.Decision decision, boolean chosenByPlanner, boolean overBudget) {
    }

    /** Refused: the user's micro-batch does not fit the user's budget. */
    static final class OverBudgetException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        OverBudgetException(String message) {
            super(message);
        }
    }

    /**
     * With {@code microBatch == 0}, the planner's largest micro-batch that fits {@code budget}
     * (it throws {@link MemoryPlanner.InsufficientMemoryException} when not even one sample fits).
     * Otherwise the given micro-batch (at most the effective batch), with its predicted peak;
     * when {@code strictBudget} and it does not fit, an {@link OverBudgetException} that says what would.
     */
    static Result decide(Backend backend, Graph graph, int optimizerSlots, int effectiveBatch, int microBatch, Budget budget,
                         boolean strictBudget) {
        return decide(backend, graph, optimizerSlots, effectiveBatch, microBatch, budget, strictBudget, Precision.FLOAT32);
    }

    /** {@link #decide(Backend, Graph, int, int, int, Budget, boolean)} for plans in {@code precision}. */
    static Result decide(Backend backend, Graph graph, int optimizerSlots, int effectiveBatch, int microBatch, Budget budget,
                         boolean strictBudget, Precision precision) {
        if (microBatch == 0) {
            return new Result(MemoryPlanner.plan(backend, graph, optimizerSlots, effectiveBatch, budget, precision), true, false);
        }
        MemoryPlanner.Decision d = MemoryPlanner.evaluate(backend, graph, optimizerSlots, effectiveBatch, microBatch, budget,
                precision);
        int b = d.microBatch();
        boolean over = d.predictedPeakBytes() > budget.bytes();
        if (over && strictBudget) {
            String fits;
            try {
                MemoryPlanner.Decision best = MemoryPlanner.plan(backend, graph, optimizerSlots, effectiveBatch, budget, precision);
                fits = "the largest micro-batch that fits is " + best.microBatch() + " (--micro-batch auto)";
            } catch (MemoryPlanner.InsufficientMemoryException e) {
                fits = e.getMessage();
            }
            throw new OverBudgetException(String.format(Locale.ROOT,
                    "--micro-batch %d needs a predicted peak of %s (fixed %s + step arena %s), more than the memory budget %s; %s",
                    b, Budget.human(d.predictedPeakBytes()), Budget.human(d.fixedBytes()), Budget.human(d.arenaBytes()), budget, fits));
        }
        return new Result(d, false, over);
    }

    /** The readable plan: backend, model, batch regime, the planner's table and how it was chosen. */
    static String describe(Chosen chosen, String model, Graph graph, Result r, String regime, String optimizer, String schedule) {
        MemoryPlanner.Decision d = r.decision();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "backend     %s%n", chosen.backend().name()));
        sb.append(String.format(Locale.ROOT, "            chosen by %s%n", chosen.reason()));
        sb.append(String.format(Locale.ROOT, "model       %s: %,d parameters, input %s, %d nodes%n", model, graph.parameterCount(),
                graph.inputs().get(0).outputShape(), graph.nodes().size()));
        sb.append(String.format(Locale.ROOT, "optimizer   %s%n", optimizer));
        if (schedule != null) {
            sb.append(String.format(Locale.ROOT, "schedule    %s%n", schedule));
        }
        sb.append(String.format(Locale.ROOT, "batch       effective %,d (%s) = %d micro-batch(es) of at most %,d; accumulation steps %d%n",
                d.effectiveBatch(), regime, d.accumulationSteps(), d.microBatch(), d.accumulationSteps()));
        sb.append(String.format(Locale.ROOT, "micro-batch %,d, %s%n", d.microBatch(), r.chosenByPlanner()
                ? "the largest that fits the budget (planner, " + d.plansCompiled() + " plans compiled in "
                        + String.format(Locale.ROOT, "%.1f ms", d.nanos() / 1e6) + ")"
                : "as given by --micro-batch"));
        sb.append(String.format(Locale.ROOT, "memory      predicted peak %s of budget %s (%.1f%%)%s%n", Budget.human(d.predictedPeakBytes()),
                d.budget(), 100.0 * d.predictedPeakBytes() / d.budget().bytes(), r.overBudget() ? "  OVER BUDGET" : ""));
        sb.append(System.lineSeparator());
        sb.append(d.table());
        return sb.toString();
    }
}
