package io.batchwise.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.layer.BatchNorm;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.testkit.FaultInjectingBackend.Point;
import io.batchwise.train.BatchNormMode;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import io.batchwise.train.TrainingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Recovery from running out of memory, run against each backend: one {@link DeviceOutOfMemoryException} at
 * an allocation point of a short training run ({@link FaultInjectingBackend.Point}) makes the trainer halve
 * the micro-batch and redo the step, and the run ends where a run without the fault ends.
 *
 * <p>What "ends where" means. Halving the micro-batch changes how a step's gradient is summed: oneDNN reduces
 * each micro-batch's samples in one kernel and the trainer then adds micro-batches in float32, so a step of
 * 3 x 8 and one of 6 x 4 round differently (the reference backend sums in float64 within a micro-batch and
 * rounds once per micro-batch: differently too). So two comparisons:
 * <ul>
 * <li><b>bit-identical</b> to a fault-free run with the micro-batch schedule the faulted run ended up with: the
 * original micro-batch for the steps before the failed one, half of it from that step on (a fault-free run at
 * {@code b} saved after step {@code s - 1}, resumed at {@code b / 2}). The checkpoints of the two runs are
 * compared byte for byte: weights, BatchNorm state, optimizer state, position and noise-scale averages. This
 * is what recovery must guarantee: the failed attempt leaves no trace (gradients overwritten by the redo's
 * first micro-batch, BatchNorm statistics rolled back, no step or sample counted, no optimizer update).</li>
 * <li><b>within {@value #TOLERANCE}</b> ({@code max|a - b| / max(1, max|b|)}, as {@link TrainingSuite} compares
 * accumulation) of the fault-free run at the original micro-batch throughout: only float32 rounding of the
 * sums separates them (a few ulps per step; observed up to 1.2e-7 on oneDNN, 6e-8 on the reference backend).
 * Each run moves the weights by more than 100 times the tolerance (checked), so a micro-batch lost, counted
 * twice or added onto a failed attempt's gradients, which changes a step by a whole micro-batch's share,
 * cannot hide in it. Not for ghost BatchNorm, whose statistics depend on the micro-batch.</li>
 * </ul>
 *
 * <p>{@code randomFailures} runs {@value #DEFAULT_TRIALS} trials by default; {@code -Dbatchwise.oomTrials=N}
 * and {@code -Dbatchwise.oomSeed=S} change the count and the draw ({@code benchmarks/reliability/oom.sh}).
 */
public abstract class OutOfMemorySuite {
    static final int DEFAULT_TRIALS = 100;
    static final double TOLERANCE = 1e-5;

    /** The backend under test. */
    protected abstract Backend backend();

    /**
     * A short run: {@code model} trained by {@code optimizer} for {@code epochs} epochs of {@code data}, effective
     * batch {@code batch} in micro-batches of {@code micro}.
     */
    record Run(String name, Graph model, Optimizer optimizer, int batch, int micro, BatchNormMode batchNorm,
               InMemoryDataset data, int epochs) {
        /** Whether the split changes only rounding: not so with ghost BatchNorm, whose statistics span a micro-batch. */
        boolean splitInvariant() {
            return batchNorm == BatchNormMode.EXACT || model.nodes().stream().noneMatch(n -> n.layer() instanceof BatchNorm);
        }

        Trainer trainer(Backend backend, int microBatch, TrainingListener listener) {
            Trainer.Builder b = Trainer.builder(model, backend).loss(new SoftmaxCrossEntropy()).optimizer(optimizer)
                    .batch(BatchSize.mini(batch)).microBatch(microBatch).batchNorm(batchNorm).seed(17);
            return (listener == null ? b : b.listener(listener)).build();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Inputs (1, 8, 8) or (20), labels from {@link TrainingSuite#data}. */
    private static InMemoryDataset data(Graph g, int n) {
        return TrainingSuite.data(g.inputs().get(0).outputShape(), n, 23);
    }

    private static Run run(String name, Graph g, Optimizer opt, int batch, int micro, BatchNormMode bn, int samples, int epochs) {
        return new Run(name, g, opt, batch, micro, bn, data(g, samples), epochs);
    }

    // (20) -> fc 16 -> relu -> dropout 0.3 -> fc 4: dropout masks keyed by sample position survive the re-split
    static final Run MLP_24 = run("mlp+dropout, Adam, 4 steps of 24 = 3 x 8", TrainingSuite.withDropout(),
            Optimizer.Adam.of(1e-2), 24, 8, BatchNormMode.GHOST, 96, 1);
    static final Run MLP_20 = run("mlp+dropout, Adam, 4 steps of 20 = 8 + 8 + 4", TrainingSuite.withDropout(),
            Optimizer.Adam.of(1e-2), 20, 8, BatchNormMode.GHOST, 80, 1);
    // (1, 8, 8) -> conv 3x3 pad 1 (3) -> relu -> maxpool 2 -> conv 3x3 (5) -> relu -> fc 4
    static final Run CNN_16 = run("cnn, SGD momentum, 4 steps of 16 = 1 x 16", TrainingSuite.cnn(),
            Optimizer.Sgd.momentum(0.1, 0.9), 16, 16, BatchNormMode.GHOST, 64, 1);
    static final Run CNN_60 = run("cnn, Adam, 2 epochs of 60 = 24 + 24 + 12 (3 x 8, 8 + 4)", TrainingSuite.cnn(),
            Optimizer.Adam.of(1e-2), 24, 8, BatchNormMode.GHOST, 60, 2);
    // (1, 8, 8) -> conv 3x3 (3) -> BatchNorm -> relu -> fc 4. Exact statistics: halving changes only rounding.
    static final Run BN_EXACT = run("cnn+BatchNorm exact, SGD momentum, 3 steps of 16 = 2 x 8", TrainingSuite.withBatchNorm(),
            Optimizer.Sgd.momentum(0.1, 0.9), 16, 8, BatchNormMode.EXACT, 48, 1);
    // Ghost statistics (per micro-batch): halving changes the statistics, so only the same-schedule comparison holds;
    // a failure after a forward pass must roll back the running statistics that pass moved.
    static final Run BN_GHOST = run("cnn+BatchNorm ghost, SGD momentum, 3 steps of 20 = 8 + 8 + 4", TrainingSuite.withBatchNorm(),
            Optimizer.Sgd.momentum(0.1, 0.9), 20, 8, BatchNormMode.GHOST, 60, 1);

    /** The runs the trials take in turn (exact BatchNorm only where the backend has it). */
    private List<Run> runs() {
        return exactBatchNorm() ? List.of(MLP_24, MLP_20, CNN_16, CNN_60, BN_EXACT, BN_GHOST)
                : List.of(MLP_24, MLP_20, CNN_16, CNN_60, BN_GHOST);
    }

    /** Whether the backend implements exact BatchNorm ({@code Executor.fixBatchNorm}). */
    protected boolean exactBatchNorm() {
        return true;
    }

    /** Per run: its fault-free allocation points in order, and how many had been reached at the end of each step. */
    private record Dry(List<Point> points, List<Integer> stepEnds, float[] weights) {
        /** The 1-based step during which point {@code n} (1-based) is reached. */
        int stepOf(int n) {
            int s = 1;
            for (int end : stepEnds) {
                s += end < n ? 1 : 0;
            }
            return s;
        }
    }

    private final Map<String, Dry> dry = new HashMap<>(); // by run name
    private final Map<String, byte[]> sameSchedule = new HashMap<>();

    /** The fault-free run at the original micro-batch, through a counting (never failing) injector. */
    private Dry dry(Run run) {
        return dry.computeIfAbsent(run.name, name -> {
            FaultInjectingBackend f = new FaultInjectingBackend(backend());
            List<Integer> ends = new ArrayList<>();
            try (Trainer t = run.trainer(f, run.micro, new TrainingListener() {
                @Override
                public void onStep(StepMetrics m) {
                    ends.add(f.reached().size());
                }
            })) {
                f.count(); // the points of the run, not of building the trainer
                t.fit(run.data, run.epochs, Long.MAX_VALUE);
                assertEquals(0, f.injected());
                try (Trainer fresh = run.trainer(backend(), run.micro, null)) {
                    // The runs move the weights by far more than the tolerance: the comparison has teeth.
                    double moved = TrainingSuite.relativeError(fresh.parameters().logicalValues(), t.parameters().logicalValues());
                    assertTrue(moved > 100 * TOLERANCE, run + " moved the weights by only " + moved);
                }
                return new Dry(f.reached(), List.copyOf(ends), t.parameters().logicalValues());
            }
        });
    }

    /** The checkpoint of a fault-free run at micro-batch {@code b} for steps 1 .. s-1 and {@code b / 2} from step s on. */
    private byte[] sameSchedule(Run run, int s) {
        return sameSchedule.computeIfAbsent(run.name + " @" + s, k -> {
            Path file = tempFile();
            try {
                try (Trainer before = run.trainer(backend(), run.micro, null)) {
                    before.fit(run.data, run.epochs, s - 1);
                    before.save(file);
                }
                try (Trainer after = run.trainer(backend(), run.micro / 2, null)) {
                    after.restore(file);
                    after.fit(run.data, run.epochs, Long.MAX_VALUE);
                    return checkpoint(after);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                delete(file);
            }
        });
    }

    /** What a run with one injected failure ended with. */
    private record Faulted(FaultInjectingBackend backend, long steps, int microBatch, List<int[]> schedule, byte[] checkpoint,
                           float[] weights) {
        /** The first step (1-based) that ran at a micro-batch other than {@code b}; 0 when none did. */
        int firstHalved(int b) {
            for (int i = 0; i < schedule.size(); i++) {
                if (schedule.get(i)[0] != b) {
                    return i + 1;
                }
            }
            return 0;
        }
    }

    /** Runs {@code run} with {@code arm} applied to a fresh injector once the trainer is built. */
    private Faulted faulted(Run run, java.util.function.Consumer<FaultInjectingBackend> arm) {
        FaultInjectingBackend f = new FaultInjectingBackend(backend());
        List<int[]> schedule = new ArrayList<>(); // per step: {micro-batch it ran at, micro-batches, samples}
        Trainer[] self = new Trainer[1];
        try (Trainer t = run.trainer(f, run.micro, new TrainingListener() {
            @Override
            public void onStep(StepMetrics m) {
                schedule.add(new int[] {self[0].microBatch(), m.microBatches(), m.batch()});
            }
        })) {
            self[0] = t;
            arm.accept(f);
            t.fit(run.data, run.epochs, Long.MAX_VALUE);
            return new Faulted(f, t.step(), t.microBatch(), schedule, checkpoint(t), t.parameters().logicalValues());
        }
    }

    /** Checks one faulted run against both fault-free references; returns its distance from the original schedule's. */
    private double check(Run run, Faulted r, int expectedStep, String what) {
        Dry clean = dry(run);
        int b = run.micro;
        assertEquals(1, r.backend.injected(), what + ": one failure injected");
        assertEquals(clean.stepEnds.size(), r.steps, what + ": the run completes every step");
        assertEquals(b / 2, r.microBatch, what + ": the micro-batch is halved");
        int s = r.firstHalved(b);
        assertEquals(expectedStep, s, what + ": halved from the step that failed");
        for (int i = 0; i < r.schedule.size(); i++) {
            int[] st = r.schedule.get(i);
            int micro = i + 1 < s ? b : b / 2;
            assertEquals(micro, st[0], what + ": micro-batch of step " + (i + 1));
            assertEquals((st[2] + micro - 1) / micro, st[1], what + ": micro-batches in step " + (i + 1) + " of " + st[2]);
        }
        assertArrayEquals(sameSchedule(run, s), r.checkpoint, what + ": checkpoint differs from the fault-free run at "
                + b + " for steps 1-" + (s - 1) + " and " + (b / 2) + " from step " + s);
        if (!run.splitInvariant()) {
            return 0;
        }
        double err = TrainingSuite.relativeError(r.weights, clean.weights);
        assertTrue(err <= TOLERANCE, what + ": weights differ from the fault-free run at " + b + " by " + err);
        return err;
    }

    /**
     * Trials of one failure each. A trial takes the runs in turn and draws the failing point among the run's
     * fault-free allocation points: first its kind (in turn over the kinds the run reaches, as a uniform draw
     * over all points would land on forward and backward passes nine times in ten), then one of that kind's
     * occurrences, uniformly. The point is then armed by its position among all points ("the n-th allocation").
     */
    @Test
    void randomFailuresHalveTheMicroBatchAndEndWhereAFaultFreeRunEnds() {
        int trials = Integer.getInteger("batchwise.oomTrials", DEFAULT_TRIALS);
        long seed = Long.getLong("batchwise.oomSeed", 20_260_101L);
        SplittableRandom random = new SplittableRandom(seed);
        List<Run> runs = runs();
        Map<Point, Integer> hits = new EnumMap<>(Point.class);
        double worst = 0;
        long t0 = System.nanoTime();
        for (int trial = 0; trial < trials; trial++) {
            Run run = runs.get(trial % runs.size());
            Dry clean = dry(run);
            List<Point> kinds = clean.points.stream().distinct().sorted().toList();
            Point kind = kinds.get((trial / runs.size()) % kinds.size());
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < clean.points.size(); i++) {
                if (clean.points.get(i) == kind) {
                    at.add(i + 1);
                }
            }
            int n = at.get(random.nextInt(at.size()));
            String what = "trial " + trial + " (seed " + seed + "), " + backend().name() + ", " + run + ": point " + n + " of "
                    + clean.points.size() + " (" + kind + ")";
            Faulted r = faulted(run, f -> f.failAllocation(n));
            assertEquals(kind, r.backend.lastInjected(), what);
            worst = Math.max(worst, check(run, r, clean.stepOf(n), what));
            hits.merge(kind, 1, Integer::sum);
        }
        System.out.printf("out-of-memory trials: %s, %d trials (seed %d), failures by kind %s, worst distance from the"
                        + " fault-free run %.2e (tolerance %.0e), %.1f s%n", backend().name(), trials, seed, hits, worst,
                TOLERANCE, (System.nanoTime() - t0) / 1e9);
        assertEquals(trials >= 5 * runs.size() ? Point.values().length : hits.size(), hits.size(), "every kind was failed: " + hits);
    }

    /** The first plan, arena, bind, forward or backward pass of a run fails: every step runs at half the micro-batch. */
    @ParameterizedTest(name = "the first {0} fails")
    @EnumSource(Point.class)
    void theFirstAllocationOfEachKindFails(Point kind) {
        Run run = CNN_16; // one micro-batch per step until the failure, two after
        Faulted r = faulted(run, f -> f.failAt(kind, 1));
        assertEquals(kind, r.backend.lastInjected());
        check(run, r, 1, "the first " + kind);
        assertTrue(r.schedule.stream().allMatch(st -> st[1] == 2), "two micro-batches of 8 in every step");
    }

    /**
     * A failure inside {@link Trainer#evaluate} is not retried (only training steps are): it propagates as
     * {@link DeviceOutOfMemoryException} and leaves the trainer as it was. The micro-batch is unchanged, evaluating
     * again gives the fault-free result, and training on afterwards ends bit-identical to a run that never
     * evaluated with a fault. Every allocation point of the evaluation fails in turn, on a fresh trainer (the
     * evaluation plans, allocates and binds the first executor) and on a trained one (it binds only the short
     * last micro-batch's).
     */
    @Test
    void aFailureDuringEvaluationPropagatesAndLeavesTheTrainerAsItWas() {
        Run run = CNN_60; // trains at 8 and 4
        InMemoryDataset test = data(run.model, 19); // evaluated as 8 + 8 + 3
        for (boolean trained : new boolean[] {false, true}) {
            FaultInjectingBackend counting = new FaultInjectingBackend(backend());
            int points;
            try (Trainer t = run.trainer(counting, run.micro, null)) {
                if (trained) {
                    t.fit(run.data, 1, Long.MAX_VALUE);
                }
                counting.count();
                t.evaluate(test);
                points = counting.reached().size();
            }
            for (int n = 1; n <= points; n++) {
                String what = (trained ? "after an epoch" : "before training") + ", point " + n + " of " + points;
                FaultInjectingBackend f = new FaultInjectingBackend(backend());
                try (Trainer clean = run.trainer(backend(), run.micro, null); Trainer t = run.trainer(f, run.micro, null)) {
                    if (trained) {
                        clean.fit(run.data, 1, Long.MAX_VALUE);
                        t.fit(run.data, 1, Long.MAX_VALUE);
                    }
                    f.failAllocation(n);
                    assertThrows(DeviceOutOfMemoryException.class, () -> t.evaluate(test), what);
                    assertEquals(1, f.injected(), what);
                    assertEquals(run.micro, t.microBatch(), what + ": evaluation does not change the micro-batch");
                    assertArrayEquals(checkpoint(clean), checkpoint(t), what + ": state after the failed evaluation");
                    assertEquals(clean.evaluate(test), t.evaluate(test), what + ": evaluating again");
                    clean.fit(run.data, 2, Long.MAX_VALUE);
                    t.fit(run.data, 2, Long.MAX_VALUE);
                    assertArrayEquals(checkpoint(clean), checkpoint(t), what + ": training on");
                }
            }
        }
    }

    /**
     * An allocation that fails while the trainer is built (parameters, gradients, BatchNorm state, Adam's two
     * moment buffers) fails the build with {@link DeviceOutOfMemoryException} and frees what was allocated before it.
     */
    @Test
    void aFailureWhileBuildingATrainerFreesWhatWasAllocated() {
        Run run = BN_GHOST;
        Run adam = new Run(run.name, run.model, Optimizer.Adam.of(1e-2), run.batch, run.micro, run.batchNorm, run.data, 1);
        FaultInjectingBackend counting = new FaultInjectingBackend(backend());
        adam.trainer(counting, adam.micro, null).close();
        int points = counting.reached().size();
        assertEquals(5, points, "values, gradients, state and two moments: " + counting.reached());
        long live = backend().memory().liveBytes();
        for (int n = 1; n <= points; n++) {
            FaultInjectingBackend f = new FaultInjectingBackend(backend()).failAllocation(n);
            assertThrows(DeviceOutOfMemoryException.class, () -> adam.trainer(f, adam.micro, null), "allocation " + n);
            assertEquals(live, backend().memory().liveBytes(), "bytes left allocated after failing allocation " + n);
        }
    }

    /**
     * At micro-batch 1 there is nothing to halve: the step fails with {@link IllegalStateException} naming the
     * failure, no step is counted and the weights are untouched.
     */
    @Test
    void aFailureAtMicroBatchOneFailsTheStepWithoutUpdating() {
        Run run = MLP_24;
        FaultInjectingBackend f = new FaultInjectingBackend(backend());
        try (Trainer t = run.trainer(f, 1, null)) {
            float[] before = t.parameters().logicalValues();
            f.failAt(Point.FORWARD, 3);
            var e = assertThrows(IllegalStateException.class, () -> t.fit(run.data, 1, Long.MAX_VALUE));
            assertTrue(e.getMessage().contains("micro-batch 1"), e.getMessage());
            assertTrue(e.getCause() instanceof DeviceOutOfMemoryException, "cause: " + e.getCause());
            assertEquals(0, t.step());
            assertArrayEquals(before, t.parameters().logicalValues());
        }
    }

    /**
     * The same failure on a model with BatchNorm: the two micro-batches that ran before it updated the running
     * statistics, and the trainer gives up without rolling them back (Trainer.trainBatch restores the state only
     * on the halving path), so the failed step leaves the state changed.
     */
    @Test
    void aFailureAtMicroBatchOneLeavesTheBatchNormStateAsItWas() {
        Graph g = TrainingSuite.withBatchNorm(); // BatchNorm over (3, 6, 6) per sample: one sample is enough
        Run run = new Run("cnn+BatchNorm at 1", g, Optimizer.Sgd.plain(0.1), 4, 1, BatchNormMode.GHOST, data(g, 4), 1);
        FaultInjectingBackend f = new FaultInjectingBackend(backend());
        try (Trainer t = run.trainer(f, 1, null)) {
            float[] state = t.parameters().state().toArray();
            f.failAt(Point.FORWARD, 3);
            assertThrows(IllegalStateException.class, () -> t.fit(run.data, 1, Long.MAX_VALUE));
            assertArrayEquals(state, t.parameters().state().toArray(), "running statistics after the failed step");
        }
    }

    // --- checkpoints as bytes ---

    private static Path tempFile() {
        try {
            return Files.createTempFile("batchwise-oom", ".ckpt");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Everything a run's continuation depends on, as {@link Trainer#save} writes it. */
    static byte[] checkpoint(Trainer t) {
        Path file = tempFile();
        try {
            t.save(file);
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            delete(file);
        }
    }
}
