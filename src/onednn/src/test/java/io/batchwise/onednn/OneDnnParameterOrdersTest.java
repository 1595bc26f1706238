package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.backend.ForwardingBackend;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Weights stored in their kernels' layouts ({@link OneDnnParameterOrders}): which ones, that every plan of the graph
 * reads them without a per-step reorder, that logical access and checkpoints do not see the storage order, and that
 * parameters in another order are refused. (That training through the stored layouts computes the reference's
 * gradients, also under accumulation, is the conformance and training suites' business: their convolution-then-dense
 * graphs store the dense weight permuted.)
 */
class OneDnnParameterOrdersTest {
    private final Backend onednn = new OneDnnBackend();

    @Test
    void leNetKeepsConv2AndFc1InTheirKernelsLayouts() {
        Map<String, Parameters.Order> orders = onednn.parameterOrders(Models.lenet());
        assertEquals(Map.of("conv2.weight", "Acdb16a", "fc1.weight", "acdb"),
                Map.of("conv2.weight", orders.get("conv2.weight").layout(), "fc1.weight", orders.get("fc1.weight").layout()));
        assertEquals(2, orders.size(), "conv1's weights would need padding (6 of 16 output channels), the rest are plain: "
                + orders);
        assertTrue(onednn.parameterOrders(Models.mlp()).isEmpty(), "the MLP's inner products read plain weights");
    }

    /**
     * Which layouts may be stored: an inner product's only unblocked with the output dim outermost (its accumulation
     * reads the weight as a {units, in} matrix), so a transposed {@code ba} is refused for it whichever way the tag is
     * found; padded layouts never (the flat buffer holds the logical size).
     */
    @Test
    void storableLayouts() {
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            org.bytedeco.dnnl.memory.desc ba = new org.bytedeco.dnnl.memory.desc(new long[] {4, 3},
                    org.bytedeco.dnnl.memory.data_type.f32, org.bytedeco.dnnl.memory.format_tag.ba);
            assertEquals("ba", OneDnnParameterOrders.tagOf(ba, false));
            assertEquals(null, OneDnnParameterOrders.tagOf(ba, true));
            org.bytedeco.dnnl.memory.desc blocked = new org.bytedeco.dnnl.memory.desc(new long[] {16, 6, 5, 5},
                    org.bytedeco.dnnl.memory.data_type.f32, org.bytedeco.dnnl.memory.format_tag.Acdb16a);
            assertEquals("Acdb16a", OneDnnParameterOrders.tagOf(blocked, false));
            assertEquals(null, OneDnnParameterOrders.tagOf(blocked, true));
            org.bytedeco.dnnl.memory.desc padded = new org.bytedeco.dnnl.memory.desc(new long[] {6, 1, 5, 5},
                    org.bytedeco.dnnl.memory.data_type.f32, org.bytedeco.dnnl.memory.format_tag.Acdb16a);
            assertEquals(null, OneDnnParameterOrders.tagOf(padded, false));
            assertEquals(null, OneDnnParameterOrders.tagOf(OneDnnMd.plain(4, 3), false));
        }
    }

    /** Channels-last {@code acdb} over {120, 16, 4, 4}: stored element i = (o, h, w, c) holds logical (o, c, h, w). */
    @Test
    void theOrderIsTheLayoutsPermutation() {
        int[] p = onednn.parameterOrders(Models.lenet()).get("fc1.weight").logical();
        int o = 7;
        int h = 2;
        int w = 3;
        int c = 11;
        int stored = ((o * 4 + h) * 4 + w) * 16 + c;
        int logical = ((o * 16 + c) * 4 + h) * 4 + w;
        assertEquals(logical, p[stored]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 32, 128, 512})
    void everyMicroBatchReadsAndWritesTheStoredWeightsWithoutReorders(int batch) {
        try (OneDnnPlan plan = (OneDnnPlan) onednn.plan(Models.lenet(), batch, PlanOptions.forTraining())) {
            for (String op : plan.implementations().keySet()) {
                for (String w : new String[] {"conv2", "fc1"}) {
                    assertFalse(op.startsWith(w + " weights (") || op.startsWith(w + ".weight.grad (reorder"),
                            "micro-batch " + batch + ": " + op + " reorders a stored weight");
                }
            }
            // conv1's padded weights and conv2's backward-data copy are reordered, as any oneDNN loop does
            assertTrue(plan.implementations().keySet().stream().anyMatch(k -> k.startsWith("conv1 weights (")));
        }
    }

    @Test
    void logicalReadsWritesAndInitialisationDoNotSeeTheStorageOrder() {
        Graph g = Models.lenet();
        Backend reference = Backends.get("reference");
        try (Parameters stored = onednn.createParameters(g, DataType.FLOAT32).initialize(42);
             Parameters plain = reference.createParameters(g, DataType.FLOAT64).initialize(42)) {
            assertTrue(plain.orders().isEmpty());
            for (ParameterLayout.Slot s : stored.layout().slots()) {
                assertArrayEquals(plain.read(s.node().name(), s.spec().name()), stored.read(s.node().name(), s.spec().name()),
                        s.key() + ": same initial values, whatever the storage");
            }
            assertArrayEquals(plain.logicalValues(), stored.logicalValues());
            ParameterLayout.Slot fc1 = stored.layout().slot("fc1", "weight");
            float[] raw = stored.values().toArray();
            float[] logical = stored.read("fc1", "weight");
            int[] p = stored.orders().get("fc1.weight").logical();
            int moved = 0;
            for (int i = 0; i < p.length; i++) {
                assertEquals(logical[p[i]], raw[(int) fc1.offset() + i]);
                moved += raw[(int) fc1.offset() + i] != logical[i] ? 1 : 0;
            }
            assertTrue(moved > p.length / 2, "the stored order differs from the logical one (" + moved + " moved)");
            float[] w = new float[p.length];
            for (int i = 0; i < w.length; i++) {
                w[i] = i;
            }
            stored.write("fc1", "weight", w);
            assertArrayEquals(w, stored.read("fc1", "weight"));
            assertArrayEquals(stored.logicalValues(), stored.toLogical(stored.toStored(stored.logicalValues())));
            plain.copyFrom(stored);
            assertArrayEquals(w, plain.read("fc1", "weight"), "copied in logical order");
        }
    }

    @Test
    void parametersInAnotherOrderAreRefused() {
        Graph g = Models.lenet();
        Backend plainOnednn = new ForwardingBackend(onednn) {
            @Override
            public Map<String, Parameters.Order> parameterOrders(Graph graph) {
                return Map.of();
            }
        };
        try (Parameters p = plainOnednn.createParameters(g, DataType.FLOAT32);
             Plan plan = onednn.plan(g, 4, PlanOptions.forTraining())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan.bind(p));
            assertTrue(e.getMessage().contains("conv2.weight") && e.getMessage().contains("createParameters"), e.getMessage());
        }
    }

    /**
     * A checkpoint holds parameters and optimizer state in logical order: written by oneDNN (stored orders), read by
     * the reference backend (plain), the next Adam step agrees, so the moments were carried over element by element.
     */
    @Test
    void checkpointsAreLogicalAcrossBackends(@TempDir Path dir) throws Exception {
        Graph g = Models.lenet();
        InMemoryDataset data = images(16, 3);
        int[] order = IntStream.range(0, 16).toArray();
        Path file = dir.resolve("lenet.ckpt");
        float[] afterOneDnn;
        try (Trainer t = trainer(g, onednn)) {
            t.trainBatch(data, order, 0, 8);
            t.trainBatch(data, order, 8, 8);
            t.save(file);
            t.trainBatch(data, order, 0, 8);
            afterOneDnn = t.parameters().logicalValues();
        }
        assertTrue(Files.size(file) > 0);
        try (Trainer r = trainer(g, Backends.get("reference"))) {
            r.restore(file);
            r.trainBatch(data, order, 0, 8);
            float[] afterReference = r.parameters().logicalValues();
            double worst = 0;
            for (int i = 0; i < afterReference.length; i++) {
                worst = Math.max(worst, Math.abs(afterReference[i] - afterOneDnn[i]));
            }
            assertTrue(worst < 1e-4, "the step after the restore differs by " + worst);
        }
    }

    private static Trainer trainer(Graph g, Backend b) {
        return Trainer.builder(g, b).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-3))
                .batch(io.batchwise.train.BatchSize.mini(8)).microBatch(8)
                .seed(5).build();
    }

    private static InMemoryDataset images(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 784];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat();
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(10);
        }
        return InMemoryDataset.labelled(x, Shape.of(1, 28, 28), y);
    }
}
