package io.batchwise.benchmarks;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory planner against the trial-and-error search of PyTorch Lightning's batch-size finder
 * ({@code scale_batch_size(mode="binsearch")}: start at 2, double after every step that fits, bisect
 * between the last fit and the first out-of-memory error; stop at the dataset's length), on the same
 * model, effective batch (4096) and budget (256 MiB).
 *
 * <p>The device limit is simulated by {@link LimitedBackend}: an allocation that would take the oneDNN
 * backend's tracked live bytes above the budget throws {@code DeviceOutOfMemoryException}. A trial builds
 * a {@link Trainer} with that micro-batch and runs one real training step (Lightning runs 3 by default);
 * an oversized micro-batch fails when its step arena is allocated, before the executor is bound.
 *
 * <p>Two finders: one whose trials hold Adam's state (Lightning's fit-mode finder after the first optimizer
 * step), and one whose trials hold no optimizer state (a one-step trial in PyTorch, where Adam allocates its
 * state lazily inside the first {@code optimizer.step()}, after backward has freed the activations; or a
 * finder run in validate mode). Every chosen size is then checked with a real Adam step of an effective
 * batch of {@code min(4096, 2b + 1)} samples (micro-batches b, b, 1) on the same limited device.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.batchwise.benchmarks.PlannerVsTrialSearch [model...]}
 * (default: deep50 lenet).
 */
public final class PlannerVsTrialSearch {
    static final int EFFECTIVE_BATCH = PlannerBenchmark.EFFECTIVE_BATCH;
    static final Budget BUDGET = PlannerBenchmark.BUDGET;
    static final int MAX_TRIALS = 25; // Lightning's default

    /** One trial step: its micro-batch and whether it fitted. */
    record Trial(int size, boolean fitted) {
        @Override
        public String toString() {
            return size + (fitted ? " ok" : " OOM");
        }
    }

    /** A method's answer: the size it chose, how long it took and what it tried. */
    record Outcome(String method, int size, long nanos, int plans, List<Trial> trials, String check) {
    }

    private final Backend backend;
    private final LimitedBackend device;
    private final InMemoryDataset data = Fixtures.images(EFFECTIVE_BATCH, 3); // (4096, 1, 28, 28)
    private final int[] order = Fixtures.identity(EFFECTIVE_BATCH);

    PlannerVsTrialSearch(Backend backend) {
        this.backend = backend;
        this.device = new LimitedBackend(backend, BUDGET.bytes());
    }

    public static void main(String[] args) {
        // The trainer logs a warning per out-of-memory error it sees; the table says it once.
        System.setProperty("org.slf4j.simpleLogger.log.io.batchwise.train.Trainer", "error");
        Backend onednn = Backends.get("onednn");
        onednn.allocate(io.batchwise.Shape.of(1), io.batchwise.DataType.FLOAT32).close(); // engine up, not timed
        PlannerVsTrialSearch bench = new PlannerVsTrialSearch(onednn);
        List<String> models = args.length > 0 ? List.of(args) : List.of("deep50", "lenet");
        System.out.printf("budget %s, effective batch %d, OMP_NUM_THREADS=%s%n", BUDGET, EFFECTIVE_BATCH,
                System.getenv("OMP_NUM_THREADS"));
        System.out.printf("%-7s %-36s %12s %14s %8s %6s  %s%n", "model", "method", "decision", "trials/plans", "chosen b",
                "k", "real Adam step, effective batch min(4096, 2b+1)");
        for (String m : models) {
            Graph g = Fixtures.model(m);
            List<Outcome> outcomes = List.of(
                    bench.planner(g),
                    bench.trialSearch(g, "trial search, trials with Adam state", Optimizer.Adam.of(1e-3)),
                    bench.trialSearch(g, "trial search, no optimizer state", Optimizer.Sgd.plain(0.01)));
            for (Outcome o : outcomes) {
                String time = o.nanos < 1_000_000_000L ? String.format("%.1f ms", o.nanos / 1e6) : String.format("%.2f s", o.nanos / 1e9);
                System.out.printf("%-7s %-36s %12s %14s %8d %6d  %s%n", m, o.method, time,
                        o.trials.isEmpty() ? o.plans + " plans" : o.trials.size() + " trials", o.size,
                        (EFFECTIVE_BATCH + o.size - 1) / o.size, o.check);
            }
            for (Outcome o : outcomes) {
                if (!o.trials.isEmpty()) {
                    System.out.printf("        %s: %s%n", o.method, o.trials);
                }
            }
        }
    }

    /** The planner, first call for this graph in the process (oneDNN's primitive cache still cold for it). */
    Outcome planner(Graph g) {
        long t0 = System.nanoTime();
        MemoryPlanner.Decision d = MemoryPlanner.plan(backend, g, PlannerBenchmark.ADAM_SLOTS, EFFECTIVE_BATCH, BUDGET);
        long nanos = System.nanoTime() - t0;
        return new Outcome("planner (Adam state, first call)", d.microBatch(), nanos, d.plansCompiled(), List.of(),
                realRun(g, d.microBatch()) + String.format(", predicted peak %s", Budget.human(d.predictedPeakBytes())));
    }

    /** Lightning's binsearch finder over real trial steps with {@code optimizer}. */
    Outcome trialSearch(Graph g, String method, Optimizer optimizer) {
        List<Trial> trials = new ArrayList<>();
        long t0 = System.nanoTime();
        int low = 1;
        int high = 0; // no failure yet
        int size = 2;
        int fits = 0;
        while (true) {
            boolean ok = step(g, optimizer, size, size) == null;
            trials.add(new Trial(size, ok));
            if (ok) {
                if (++fits > MAX_TRIALS) {
                    break;
                }
                low = size;
                if (high > 0) {
                    if (high - low <= 1) {
                        break;
                    }
                    size = (low + high) / 2;
                } else if (size >= EFFECTIVE_BATCH) {
                    break; // Lightning stops at the dataset's length
                } else {
                    size *= 2;
                }
            } else {
                high = size;
                size = (low + high) / 2;
                if (high - low <= 1) {
                    break;
                }
            }
        }
        return new Outcome(method, size, System.nanoTime() - t0, trials.size(), trials, realRun(g, size));
    }

    /** A real Adam step at micro-batch {@code b}: "ok" or the out-of-memory error. */
    String realRun(Graph g, int b) {
        int batch = Math.min(EFFECTIVE_BATCH, 2 * b + 1);
        String e = step(g, Optimizer.Adam.of(1e-3), batch, b);
        return e == null ? "ok" : "OOM: " + e;
    }

    /** One training step of {@code batch} samples in micro-batches of {@code micro}; null when it fitted, else the error. */
    String step(Graph g, Optimizer optimizer, int batch, int micro) {
        device.reset();
        if (device.memory().liveBytes() != 0) {
            throw new IllegalStateException(device.memory().liveBytes() + " bytes live before a trial");
        }
        try (Trainer t = Fixtures.trainer(g, device, optimizer, batch, micro)) {
            t.trainBatch(data, order, 0, batch);
            return null;
        } catch (RuntimeException e) {
            if (device.tripped() == null) {
                throw e;
            }
            return device.tripped().getMessage();
        }
    }
}
