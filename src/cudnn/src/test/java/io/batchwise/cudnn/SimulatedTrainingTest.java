package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlanner;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The trainer on this backend's plans and executor over the {@link SimulatedDevice}: gradient
 * accumulation equals one big step, a real out-of-memory from a device allocation makes the trainer
 * halve the micro-batch and lose nothing, the memory planner's choice fits the device and its
 * prediction (parameter padding included) is what the device gives, and exact BatchNorm equals the
 * reference backend's one big batch. The rest of the trainer's guarantees: {@link SimulatedTrainingSuiteTest}.
 */
class SimulatedTrainingTest {
    private static final Optimizer SGD = Optimizer.Sgd.momentum(0.5, 0.9);

    private static Backend backend(SimulatedDevice d) {
        return new CudnnBackend(() -> d, () -> Availability.yes(d.describe()));
    }

    static Graph cnn() {
        return Graph.builder().input("x", Shape.of(1, 6, 6))
                .then("conv1", Conv2d.of(3, 3).padding(1)).then("bn1", new BatchNorm()).then("relu1", new ReLU())
                .then("pool1", MaxPool2d.of(2))
                .then("fc1", new Dense(8)).then("drop", new Dropout(0.25f)).then("fc2", new Dense(4)).build();
    }

    static InMemoryDataset data(Shape sample, int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * sample.sizeAsInt()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = Math.floorMod((int) (x[i * sample.sizeAsInt()] * 3), 4);
        }
        return InMemoryDataset.labelled(x, sample, y);
    }

    private static Trainer trainer(Backend b, Graph g, int big, int micro) {
        return Trainer.builder(g, b).loss(new SoftmaxCrossEntropy()).optimizer(SGD).batch(BatchSize.mini(big)).microBatch(micro)
                .seed(7).build();
    }

    private static int[] identity(int n) {
        int[] o = new int[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
        }
        return o;
    }

    private static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double scale = 1;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @Test
    void accumulatedStepEqualsOneBigStepWithoutBatchNorm() {
        Graph g = Graph.builder().input("x", Shape.of(1, 6, 6))
                .then("conv1", Conv2d.of(3, 3).padding(1)).then("relu1", new ReLU()).then("pool1", MaxPool2d.of(2))
                .then("fc1", new Dense(8)).then("drop", new Dropout(0.25f)).then("fc2", new Dense(4)).build();
        InMemoryDataset d = data(Shape.of(1, 6, 6), 48, 3);
        Backend b = backend(new SimulatedDevice());
        try (Trainer whole = trainer(b, g, 48, 48); Trainer split = trainer(b, g, 48, 10)) {
            StepMetrics m1 = whole.trainBatch(d, identity(48), 0, 48);
            StepMetrics m2 = split.trainBatch(d, identity(48), 0, 48);
            assertEquals(5, m2.microBatches()); // 4 x 10 + 8
            assertEquals(m1.loss(), m2.loss(), 1e-5 * Math.abs(m1.loss()));
            float[] wa = whole.parameters().values().toArray();
            assertTrue(relativeError(split.parameters().values().toArray(), wa) <= 1e-5);
            try (Trainer fresh = trainer(b, g, 48, 48)) {
                assertTrue(relativeError(fresh.parameters().values().toArray(), wa) > 1e-3, "the step moved the weights");
            }
        }
    }

    @Test
    void anOutOfMemoryAllocationHalvesTheMicroBatchAndLosesNothing() {
        Graph g = cnn();
        Backend big = backend(new SimulatedDevice());
        long fixed = MemoryPlanner.fixedBytes(big.parameterLayout(g), DataType.FLOAT32, SGD.stateSlots());
        long a16;
        long a32;
        try (Plan p16 = big.plan(g, 16, PlanOptions.forTraining()); Plan p32 = big.plan(g, 32, PlanOptions.forTraining())) {
            a16 = p16.memory().arena().bytes();
            a32 = p32.memory().arena().bytes();
        }
        // Room for the parameters, the optimizer state and the arena of 16 samples, not of 32.
        long capacity = fixed + (a16 + a32) / 2;
        assertTrue(capacity < fixed + a32);
        SimulatedDevice small = new SimulatedDevice(capacity, new ConvAlgorithms(1, 1000, 1, 2000, 1, 3000));
        InMemoryDataset d = data(Shape.of(1, 6, 6), 32, 5);
        try (Trainer t = trainer(backend(small), g, 32, 32); Trainer ref = trainer(big, g, 32, 16)) {
            t.trainBatch(d, identity(32), 0, 32);
            ref.trainBatch(d, identity(32), 0, 32);
            assertEquals(16, t.microBatch(), "halved after the arena of 32 samples did not fit");
            assertEquals(0, relativeError(t.parameters().values().toArray(), ref.parameters().values().toArray()));
            assertEquals(0, relativeError(t.parameters().state().toArray(), ref.parameters().state().toArray()),
                    "BatchNorm's running statistics were restored before the redo");
        }
        assertEquals(0, small.tracker().liveBytes(), "everything freed");
    }

    @Test
    void theDeviceBudgetIsItsFreeMemoryLessTheMarginAndThePlannersChoiceFitsIt() {
        SimulatedDevice dev = new SimulatedDevice(6L << 20, new ConvAlgorithms(1, 4096, 1, 4096, 1, 8192));
        CudnnBackend b = new CudnnBackend(() -> dev, () -> Availability.yes(dev.describe()));
        Budget budget = b.deviceBudget(1L << 20);
        assertEquals(5L << 20, budget.bytes());
        assertTrue(budget.source().contains("simulated device"), budget.source());
        Graph g = cnn();
        MemoryPlanner.Decision dec = MemoryPlanner.plan(b, g, SGD.stateSlots(), 4096, budget);
        assertTrue(dec.predictedPeakBytes() <= budget.bytes());
        try (Parameters p = b.createParameters(g, DataType.FLOAT32); Plan plan = b.plan(g, dec.microBatch(), PlanOptions.forTraining());
             var ex = plan.bind(p)) {
            assertTrue(dev.tracker().liveBytes() <= dec.predictedPeakBytes(), "what binding took is within the prediction");
        }
        try (Plan plan = b.plan(g, dec.microBatch() * 4, PlanOptions.forTraining())) {
            long need = MemoryPlanner.fixedBytes(b.parameterLayout(g), DataType.FLOAT32, SGD.stateSlots()) + plan.memory().arena().bytes();
            if (need > dev.memory()[1]) {
                try (Parameters p = b.createParameters(g, DataType.FLOAT32)) {
                    var e = org.junit.jupiter.api.Assertions.assertThrows(DeviceOutOfMemoryException.class, () -> plan.bind(p));
                    assertTrue(e.requestedBytes() > 0);
                }
            }
        }
        assertEquals(0, dev.tracker().liveBytes());
    }

    @Test
    void theDeviceHoldsWhatThePlannerPredictedParameterPaddingIncluded() {
        SimulatedDevice dev = new SimulatedDevice();
        Backend b = backend(dev);
        Graph g = cnn(); // conv1 27 + 3, bn1 3 + 3 (and 3 + 3 of state), fc1 8 x 27 + 8, fc2 4 x 8 + 4: 64-float slots
        Optimizer adam = Optimizer.Adam.of(1e-2);
        var layout = b.parameterLayout(g);
        long fixed = MemoryPlanner.fixedBytes(layout, DataType.FLOAT32, adam.stateSlots());
        long packed = MemoryPlanner.fixedBytes(g, DataType.FLOAT32, adam.stateSlots());
        assertEquals(4 * (4 * layout.trainableSize() + layout.stateSize()), fixed);
        assertTrue(fixed - packed >= 4 * 4 * (64 - 27), "the padding is counted: " + fixed + " against " + packed);
        long arena;
        try (Plan p = b.plan(g, 12, PlanOptions.forTraining())) {
            arena = p.memory().arena().bytes();
        }
        InMemoryDataset d = data(Shape.of(1, 6, 6), 24, 2);
        dev.tracker().resetPeak();
        try (Trainer t = Trainer.builder(g, b).loss(new SoftmaxCrossEntropy()).optimizer(adam).batch(BatchSize.mini(24))
                .microBatch(12).seed(1).build()) {
            t.trainBatch(d, identity(24), 0, 24);
            for (var s : layout.slots()) {
                assertEquals(0, 4 * s.offset() % 256, s.key());
            }
            assertEquals(layout.trainableSize(), t.parameters().values().size());
            assertEquals(g.parameterCount(), t.parameters().logicalValues().length);
        }
        assertEquals(fixed + arena, dev.tracker().peakBytes(), "the device gave what the plan predicted, to the byte");
        assertTrue(dev.cudnnCalls > 0, "cuDNN and cuBLAS calls ran, each pointer checked to be 256-byte aligned");
        assertEquals(0, dev.tracker().liveBytes());
    }

    /** Two 2d BatchNorms after convolutions and a 1d one after a Dense layer (TrainingSuite's model). */
    private static Graph threeBatchNorms() {
        return Graph.builder().input("x", Shape.of(2, 6, 6))
                .then("conv1", Conv2d.of(3, 3)).then("bn1", new BatchNorm()).then("relu1", new ReLU())
                .then("conv2", Conv2d.of(4, 3).padding(1)).then("bn2", new BatchNorm()).then("relu2", new ReLU())
                .then("fc1", new Dense(8)).then("bn3", new BatchNorm()).then("relu3", new ReLU())
                .then("fc", new Dense(4)).build();
    }

    @Test
    void exactBatchNormInMicroBatchesEqualsTheReferenceBackendsOneBigBatch() {
        Graph g = threeBatchNorms();
        InMemoryDataset d = data(Shape.of(2, 6, 6), 24, 9);
        Optimizer sgd = Optimizer.Sgd.momentum(0.1, 0.9);
        Backend reference = new io.batchwise.reference.ReferenceBackend();
        float[] gradient;
        float[] state;
        try (Trainer whole = Trainer.builder(g, reference).loss(new SoftmaxCrossEntropy()).optimizer(sgd).batch(BatchSize.mini(24))
                .microBatch(24).seed(6).build()) {
            whole.trainBatch(d, identity(24), 0, 24);
            gradient = whole.parameters().logicalGradients();
            state = whole.parameters().logicalState();
        }
        for (io.batchwise.train.BatchNormMode mode : io.batchwise.train.BatchNormMode.values()) {
            try (Trainer t = Trainer.builder(g, backend(new SimulatedDevice())).loss(new SoftmaxCrossEntropy()).optimizer(sgd)
                    .batch(BatchSize.mini(24)).microBatch(5).batchNorm(mode).seed(6).build()) {
                t.trainBatch(d, identity(24), 0, 24); // 4 x 5 + 4
                double eg = relativeError(t.parameters().logicalGradients(), gradient);
                double es = relativeError(t.parameters().logicalState(), state);
                if (mode == io.batchwise.train.BatchNormMode.EXACT) {
                    assertTrue(eg <= 1e-5, "gradient differs by " + eg);
                    assertTrue(es <= 1e-5, "running statistics differ by " + es);
                } else {
                    assertTrue(eg > 1e-3, mode + ": ghost statistics differ from the big batch's: " + eg);
                }
            }
        }
    }

    /**
     * A checkpoint and a model file hold the parameters packed in logical order whatever the layout: the cuDNN
     * backend's (256-byte slots) and the reference backend's (packed) write the same bytes, and each reads the other's.
     */
    @Test
    void checkpointsAndModelFilesAreTheSameBytesOnAPaddedAndAPackedLayout(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        Graph g = cnn();
        InMemoryDataset d = data(Shape.of(1, 6, 6), 48, 4);
        Optimizer adam = Optimizer.Adam.of(1e-2);
        Backend reference = new io.batchwise.reference.ReferenceBackend();
        SimulatedDevice dev = new SimulatedDevice();
        try (Trainer onDevice = Trainer.builder(g, backend(dev)).loss(new SoftmaxCrossEntropy()).optimizer(adam)
                .batch(BatchSize.mini(16)).microBatch(8).seed(2).build();
             Trainer onHost = Trainer.builder(g, reference).loss(new SoftmaxCrossEntropy()).optimizer(adam)
                .batch(BatchSize.mini(16)).microBatch(8).seed(2).build()) {
            assertTrue(onDevice.parameters().layout().padded() && !onHost.parameters().layout().padded());
            onDevice.fit(d, 1, 3);
            onDevice.save(dir.resolve("device.ckpt"));
            onHost.restore(dir.resolve("device.ckpt"));
            org.junit.jupiter.api.Assertions.assertArrayEquals(onDevice.parameters().logicalValues(), onHost.parameters().logicalValues());
            org.junit.jupiter.api.Assertions.assertArrayEquals(onDevice.parameters().logicalState(), onHost.parameters().logicalState());
            onHost.save(dir.resolve("host.ckpt"));
            org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(dir.resolve("device.ckpt")),
                    java.nio.file.Files.readAllBytes(dir.resolve("host.ckpt")), "weights, state, optimizer state and position");
            io.batchwise.inference.Model.save(onDevice.parameters(), dir.resolve("device.model"));
            io.batchwise.inference.Model.save(onHost.parameters(), dir.resolve("host.model"));
            org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(dir.resolve("device.model")),
                    java.nio.file.Files.readAllBytes(dir.resolve("host.model")));
            // And back: the host's file into a fresh trainer on the device, its padding left zero.
            try (Trainer again = Trainer.builder(g, backend(dev)).loss(new SoftmaxCrossEntropy()).optimizer(adam)
                    .batch(BatchSize.mini(16)).microBatch(8).seed(2).build()) {
                again.restore(dir.resolve("host.ckpt"));
                org.junit.jupiter.api.Assertions.assertArrayEquals(onDevice.parameters().values().toArray(),
                        again.parameters().values().toArray(), "the same padded device buffer");
                try (var m = io.batchwise.inference.Model.load(dir.resolve("host.model"), backend(dev))) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(onHost.parameters().logicalValues(),
                            m.parameters().logicalValues());
                }
            }
        }
    }
}
