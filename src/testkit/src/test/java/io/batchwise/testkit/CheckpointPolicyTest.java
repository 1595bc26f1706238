package io.batchwise.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.reference.ReferenceBackend;
import io.batchwise.train.BatchSize;
import io.batchwise.train.CheckpointPolicy;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import io.batchwise.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints written by the trainer while it fits: by steps, by time, at epoch ends, on a stop; the newest K kept. */
class CheckpointPolicyTest {
    private static final ReferenceBackend BACKEND = new ReferenceBackend();
    private static final Graph G = TrainingSuite.cnn();
    private static final InMemoryDataset DATA = TrainingSuite.data(Shape.of(1, 8, 8), 100, 6); // B = 16: 7 steps per epoch

    @TempDir
    Path dir;

    private static Trainer trainer(CheckpointPolicy policy, TrainingListener listener) {
        Trainer.Builder b = Trainer.builder(G, BACKEND).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                .batch(BatchSize.mini(16)).microBatch(8).seed(13).checkpoints(policy);
        return (listener == null ? b : b.listener(listener)).build();
    }

    private static float[] uninterrupted(long steps) {
        try (Trainer t = trainer(null, null)) {
            t.fit(DATA, 100, steps);
            return t.parameters().logicalValues();
        }
    }

    /** Steps at which listeners heard of a checkpoint. */
    private static final class Heard implements TrainingListener {
        final List<Long> steps = new ArrayList<>();
        long stopAt = -1;
        Trainer trainer;

        @Override
        public void beforeCheckpoint(long step) {
            steps.add(step);
        }

        @Override
        public void onStep(StepMetrics m) {
            if (m.step() == stopAt) {
                trainer.requestStop();
            }
        }
    }

    @Test
    void everyFiveStepsKeepsTheNewestThreeAndAnyOfThemResumesExactly() throws IOException {
        Path last = dir.resolve("last.ckpt");
        Heard heard = new Heard();
        try (Trainer t = trainer(CheckpointPolicy.to(last).everySteps(5).keep(3).atEpochEnd(false), heard)) {
            t.fit(DATA, 100, 23);
        }
        assertEquals(List.of(5L, 10L, 15L, 20L), heard.steps);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("last.ckpt", "step-000000010.ckpt", "step-000000015.ckpt", "step-000000020.ckpt"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertArrayEquals(Files.readAllBytes(last), Files.readAllBytes(dir.resolve("step-000000020.ckpt")));
        float[] expected = uninterrupted(23);
        try (Trainer again = trainer(null, null)) {
            again.restore(dir.resolve("step-000000010.ckpt")); // mid-epoch: step 10 of 7-step epochs
            assertEquals(10, again.step());
            again.fit(DATA, 100, 23);
            assertArrayEquals(expected, again.parameters().logicalValues());
        }
    }

    @Test
    void aStopFinishesTheStepWritesACheckpointAndResumesExactly() throws IOException {
        Path last = dir.resolve("last.ckpt");
        Heard heard = new Heard();
        heard.stopAt = 9;
        try (Trainer t = trainer(CheckpointPolicy.to(last), heard)) {
            heard.trainer = t;
            t.fit(DATA, 100, 23);
            assertEquals(9, t.step());
            assertTrue(t.stopRequested());
            t.fit(DATA, 100, 23); // stays stopped
            assertEquals(9, t.step());
        }
        assertEquals(List.of(7L, 9L), heard.steps, "the epoch end at step 7, then the stop");
        try (Trainer again = trainer(null, null)) {
            again.restore(last);
            assertEquals(9, again.step());
            again.fit(DATA, 100, 23);
            assertArrayEquals(uninterrupted(23), again.parameters().logicalValues());
        }
    }

    @Test
    void aStopAtAnEpochsEndLeavesTheEndToTheResumedRun() throws IOException {
        Path last = dir.resolve("last.ckpt");
        Heard heard = new Heard();
        heard.stopAt = 7; // the last step of the first epoch
        List<Integer> ends = new ArrayList<>();
        TrainingListener epochs = new TrainingListener() {
            @Override
            public void onEpoch(int epoch, double loss, double accuracy) {
                ends.add(epoch);
            }
        };
        try (Trainer t = Trainer.builder(G, BACKEND).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                .batch(BatchSize.mini(16)).microBatch(8).seed(13).checkpoints(CheckpointPolicy.to(last))
                .listener(heard).listener(epochs).build()) {
            heard.trainer = t;
            t.fit(DATA, 100, 23);
            assertEquals(7, t.step());
            assertEquals(0, t.epoch(), "the epoch's end has not been handled");
        }
        assertEquals(List.of(7L), heard.steps);
        assertEquals(List.of(), ends);
        try (Trainer again = Trainer.builder(G, BACKEND).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                .batch(BatchSize.mini(16)).microBatch(8).seed(13).listener(epochs).build()) {
            again.restore(last);
            again.fit(DATA, 100, 23);
            assertEquals(0, ends.get(0), "the resumed run ends epoch 0 first");
            assertArrayEquals(uninterrupted(23), again.parameters().logicalValues());
        }
    }

    @Test
    void byTimeAndAtEpochEnds() throws IOException {
        Heard byTime = new Heard();
        try (Trainer t = trainer(CheckpointPolicy.to(dir.resolve("a.ckpt")).every(Duration.ofNanos(1)).atEpochEnd(false), byTime)) {
            t.fit(DATA, 100, 4);
        }
        assertEquals(List.of(1L, 2L, 3L, 4L), byTime.steps, "a nanosecond has always passed after a step");
        Heard byEpoch = new Heard();
        try (Trainer t = trainer(CheckpointPolicy.to(dir.resolve("b.ckpt")), byEpoch)) {
            t.fit(DATA, 2, Long.MAX_VALUE);
        }
        assertEquals(List.of(7L, 14L), byEpoch.steps);
    }

    @Test
    void checkpointWithoutAPolicyAndBadPoliciesAreRefused() {
        try (Trainer t = trainer(null, null)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, t::checkpoint);
            assertTrue(e.getMessage().contains("no checkpoint policy"), e.getMessage());
        }
        Path f = dir.resolve("x.ckpt");
        assertThrows(IllegalArgumentException.class, () -> CheckpointPolicy.to(f).keep(0));
        assertThrows(IllegalArgumentException.class, () -> CheckpointPolicy.to(f).everySteps(-1));
        assertThrows(IllegalArgumentException.class, () -> CheckpointPolicy.to(f).every(Duration.ofSeconds(-1)));
    }
}
