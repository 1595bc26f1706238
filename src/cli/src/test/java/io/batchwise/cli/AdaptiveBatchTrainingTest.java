package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.loss.MeanSquaredError;
import io.batchwise.train.TrainingListener;
import io.batchwise.train.AdaptiveBatch;
import io.batchwise.train.BatchChange;
import io.batchwise.train.BatchSize;
import io.batchwise.train.EpochMetrics;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's adaptive batch, single-pass noise measurement and checkpoint state, on the reference
 * backend with the regression of {@link Regression} (B_simple = 13 while the weights stay at 0).
 */
class AdaptiveBatchTrainingTest {
    @TempDir
    Path tmp;

    /** Everything a run reports. */
    static final class Events implements TrainingListener {
        final List<StepMetrics> steps = new ArrayList<>();
        final List<BatchChange> changes = new ArrayList<>();
        final List<EpochMetrics> epochs = new ArrayList<>();

        @Override
        public void onStep(StepMetrics m) {
            steps.add(m);
        }

        @Override
        public void onBatchChange(BatchChange c) {
            changes.add(c);
        }

        @Override
        public void onEpochEnd(EpochMetrics m) {
            epochs.add(m);
        }
    }

    private static Trainer.Builder trainer(double lr, int batch, int micro, AdaptiveBatch adaptive, TrainingListener l) {
        Trainer.Builder b = Trainer.builder(Regression.model(), Regression.backend()).loss(new MeanSquaredError())
                .optimizer(Optimizer.Sgd.plain(lr)).batch(BatchSize.mini(batch)).microBatch(micro).seed(9)
                .adaptiveBatch(adaptive);
        return l == null ? b : b.listener(l);
    }

    /** B_simple 13 above the cap 10: 2 -> 4 -> 8 -> 10 (doubling, then the cap), one change per 20 steps at most. */
    @Test
    void growsToTheCapAndNeverPastIt() {
        InMemoryDataset d = Regression.data(6_000, 1);
        Events ev = new Events();
        try (Trainer t = trainer(0, 2, 4, new AdaptiveBatch(10, 20, 1.25), ev).build()) {
            t.fit(d, 1, 400);
            assertEquals(10, t.effectiveBatch(d.size()));
            assertEquals(3, t.accumulationSteps(d.size())); // ceil(10 / 4): the micro-batch stays
        }
        assertEquals(List.of(2, 4, 8), ev.changes.stream().map(BatchChange::from).toList());
        assertEquals(List.of(4, 8, 10), ev.changes.stream().map(BatchChange::to).toList());
        int before = 2;
        long lastChange = 0;
        for (BatchChange c : ev.changes) {
            assertTrue(c.step() - lastChange >= 20, "changes at least 20 steps apart: " + ev.changes);
            lastChange = c.step();
        }
        for (StepMetrics m : ev.steps) {
            assertTrue(m.batch() >= before && m.batch() <= 10, "step " + m.step() + " batch " + m.batch());
            before = m.batch();
            assertEquals((m.batch() + 3) / 4 == 1 ? 2 : (m.batch() + 3) / 4, m.microBatches(),
                    "one-pass steps split in two to measure");
            assertTrue(!Double.isNaN(m.noiseScale()), "measured every step (infinite while the |G|^2 average is not positive)");
        }
        // each change applies from the next step
        for (BatchChange c : ev.changes) {
            assertEquals(c.to(), ev.steps.get((int) c.step()).batch());
            assertEquals(c.from(), ev.steps.get((int) c.step() - 1).batch());
        }
    }

    /** Below the cap it settles at B_simple rounded down to the micro-batch: 4 -> 8 -> 12 (12 <= 13 < 16). */
    @Test
    void settlesNearTheNoiseScale() {
        InMemoryDataset d = Regression.data(8_000, 2);
        Events ev = new Events();
        try (Trainer t = trainer(0, 4, 4, new AdaptiveBatch(64, 25, 1.25), ev).noiseScaleDecay(0.99).build()) {
            t.fit(d, 1, Long.MAX_VALUE);
            int last = t.effectiveBatch(d.size());
            assertTrue(last == 12 || last == 16, "settled at " + last + " for B_simple 13: " + ev.changes);
        }
        assertEquals(1, ev.epochs.size());
        EpochMetrics e = ev.epochs.get(0);
        assertEquals(8_000, e.samples());
        assertTrue(Math.abs(e.noiseScale() - 13) <= 0.3 * 13, "epoch B_simple " + e.noiseScale());
        assertEquals(e.step(), e.noiseMeasurements());
    }

    @Test
    void deterministicForASeed() {
        InMemoryDataset d = Regression.data(3_000, 3);
        List<List<Integer>> batches = new ArrayList<>();
        List<float[]> weights = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            Events ev = new Events();
            try (Trainer t = trainer(0.02, 2, 4, new AdaptiveBatch(64, 10, 1.25), ev).build()) {
                t.fit(d, 2, Long.MAX_VALUE);
                weights.add(t.parameters().logicalValues());
            }
            batches.add(ev.steps.stream().map(StepMetrics::batch).toList());
            assertTrue(!ev.changes.isEmpty(), "the batch grew");
        }
        assertEquals(batches.get(0), batches.get(1));
        assertArrayEquals(weights.get(0), weights.get(1));
    }

    /** Stopped after the batch grew (mid-epoch), saved, restored into a new trainer: the same run, bit for bit. */
    @Test
    void resumesWithTheGrownBatch() throws IOException {
        InMemoryDataset d = Regression.data(3_000, 5);
        AdaptiveBatch rule = new AdaptiveBatch(64, 10, 1.25);
        Events straight = new Events();
        float[] expected;
        try (Trainer t = trainer(0.02, 2, 4, rule, straight).build()) {
            t.fit(d, 2, Long.MAX_VALUE);
            expected = t.parameters().logicalValues();
        }
        long stop = straight.changes.get(1).step() + 3;
        Path ckpt = tmp.resolve("a.ckpt");
        try (Trainer t = trainer(0.02, 2, 4, rule, null).build()) {
            t.fit(d, 2, stop);
            t.save(ckpt);
        }
        Events resumed = new Events();
        try (Trainer t = trainer(0.02, 2, 4, rule, resumed).build()) {
            t.restore(ckpt);
            assertEquals(straight.changes.get(1).to(), t.effectiveBatch(d.size()));
            t.fit(d, 2, Long.MAX_VALUE);
            assertArrayEquals(expected, t.parameters().logicalValues());
        }
        List<StepMetrics> tail = straight.steps.subList((int) stop, straight.steps.size());
        assertEquals(tail.stream().map(StepMetrics::batch).toList(), resumed.steps.stream().map(StepMetrics::batch).toList());
        assertEquals(tail.stream().map(StepMetrics::noiseScale).toList(), resumed.steps.stream().map(StepMetrics::noiseScale).toList(),
                "the noise scale's averages are in the checkpoint");

        try (Trainer fixed = trainer(0.02, 2, 4, null, null).build()) {
            var e = assertThrows(IOException.class, () -> fixed.restore(ckpt));
            assertTrue(e.getMessage().contains("adaptive"), e.getMessage());
        }
    }

    /** Splitting a one-pass step in two to measure changes nothing but rounding. */
    @Test
    void measuringSinglePassStepsIsExact() {
        InMemoryDataset d = Regression.data(640, 6);
        float[][] w = new float[2][];
        for (int i = 0; i < 2; i++) {
            Events ev = new Events();
            try (Trainer t = Trainer.builder(Regression.model(), Regression.backend()).loss(new MeanSquaredError())
                    .optimizer(Optimizer.Sgd.plain(0.05)).batch(BatchSize.mini(32)).microBatch(32).seed(4)
                    .measureNoiseScale(i == 1).listener(ev).build()) {
                t.fit(d, 1, Long.MAX_VALUE);
                w[i] = t.parameters().logicalValues();
            }
            StepMetrics last = ev.steps.get(ev.steps.size() - 1);
            assertEquals(i == 1 ? 2 : 1, last.microBatches());
            assertEquals(i == 1, Double.isFinite(last.noiseScale()), "measured only when asked");
        }
        for (int j = 0; j < w[0].length; j++) {
            assertEquals(w[0][j], w[1][j], 1e-5 * Math.max(1, Math.abs(w[0][j])));
        }
    }

    /** Measuring every 3rd step: steps 1, 4, 7, ... measure (split in two), the others run as one pass. */
    @Test
    void measuresEveryNthStep() {
        InMemoryDataset d = Regression.data(640, 8);
        Events ev = new Events();
        try (Trainer t = Trainer.builder(Regression.model(), Regression.backend()).loss(new MeanSquaredError())
                .optimizer(Optimizer.Sgd.plain(0.05)).batch(BatchSize.mini(32)).microBatch(32).seed(4)
                .measureNoiseScale(true).noiseScaleEvery(3).listener(ev).build()) {
            t.fit(d, 1, Long.MAX_VALUE);
            assertEquals(7, t.noiseScale().orElseThrow().count()); // steps 1, 4, ..., 19 of 20
        }
        for (StepMetrics m : ev.steps) {
            assertEquals((m.step() - 1) % 3 == 0 ? 2 : 1, m.microBatches(), "step " + m.step());
        }
        assertThrows(IllegalArgumentException.class, () -> Trainer.builder(Regression.model(), Regression.backend()).noiseScaleEvery(0));
    }

    /**
     * A version-1 checkpoint (written before the adaptive batch existed: position in batches, no noise
     * state) is still read; made here from a version-2 file by the documented layouts.
     */
    @Test
    void readsVersionOneCheckpoints() throws IOException {
        InMemoryDataset d = Regression.data(640, 7);
        float[] expected;
        try (Trainer t = trainer(0.05, 32, 8, null, null).build()) {
            t.fit(d, 2, 30);
            expected = t.parameters().logicalValues();
        }
        Path v2 = tmp.resolve("v2.ckpt");
        try (Trainer t = trainer(0.05, 32, 8, null, null).build()) {
            t.fit(d, 2, 13); // mid-epoch: 20 steps per epoch
            t.save(v2);
        }
        Path v1 = tmp.resolve("v1.ckpt");
        Files.write(v1, toVersionOne(Files.readAllBytes(v2), 32));
        try (Trainer t = trainer(0.05, 32, 8, null, null).build()) {
            t.restore(v1);
            assertEquals(13, t.step());
            t.fit(d, 2, 30);
            assertArrayEquals(expected, t.parameters().logicalValues());
        }
    }

    /** "BWCKPT02" layout to "BWCKPT01": the offset in samples back to batches, the version-2 block dropped, CRC again. */
    private static byte[] toVersionOne(byte[] v2, int batch) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(v2);
        in.position(16);
        int utf = in.getShort() & 0xFFFF;
        int afterName = 18 + utf;
        in.position(afterName);
        long seed = in.getLong();
        long step = in.getLong();
        long epoch = in.getLong();
        long offset = in.getLong();
        long samples = in.getLong();
        in.getInt();
        in.getInt();
        in.getLong();
        int skip = in.get() != 0 ? 32 : 0;
        int rest = in.position() + skip;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write("BWCKPT01".getBytes(StandardCharsets.US_ASCII));
        out.write(v2, 8, afterName - 8); // fingerprint and optimizer name
        out.writeLong(seed);
        out.writeLong(step);
        out.writeLong(epoch);
        out.writeLong(offset / batch);
        out.writeLong(samples);
        out.write(v2, rest, v2.length - 8 - rest);
        CRC32 crc = new CRC32();
        crc.update(bytes.toByteArray());
        out.writeLong(crc.getValue());
        return bytes.toByteArray();
    }
}
