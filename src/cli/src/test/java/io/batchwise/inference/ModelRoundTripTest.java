package io.batchwise.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.Backend;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.layer.Layer;
import io.batchwise.plan.Budget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Train -> save -> load -> predict on a graph with every layer kind: the graph comes back node for node, the weights
 * and BatchNorm statistics bit for bit, the logits bit for bit on the same backend and within the conformance
 * tolerance across backends (reference and oneDNN, where oneDNN runs).
 */
class ModelRoundTripTest {
    /** BackendConformanceSuite's: {@code max |a - b| / max(1, max |b|)}. */
    private static final double TOLERANCE = 1e-4;
    private static final int N = 37; // not a multiple of the batch: a full pass, then a padded one

    @TempDir
    Path dir;

    @Test
    void everyLayerKindIsInTheGraph() {
        var kinds = new HashSet<Class<?>>();
        Fixtures.everyLayer().nodes().forEach(n -> kinds.add(n.layer().getClass()));
        assertEquals(new HashSet<>(Arrays.asList(Layer.class.getPermittedSubclasses())), kinds);
        assertEquals(Layer.class.getPermittedSubclasses().length, LayerCodec.Kind.values().length);
    }

    @Test
    void theGraphRoundTripsNodeForNode() throws IOException {
        Graph g = Fixtures.everyLayer();
        byte[] bytes = ModelFile.encode(g, new float[(int) new ParameterLayout(g).trainableSize()],
                new float[(int) new ParameterLayout(g).stateSize()]);
        Graph back = ModelFile.decode(dir.resolve("g.bw"), bytes).graph();
        assertEquals(g.nodes().size(), back.nodes().size());
        for (int i = 0; i < g.nodes().size(); i++) {
            Node a = g.nodes().get(i);
            Node b = back.nodes().get(i);
            assertEquals(a.name(), b.name());
            assertEquals(a.layer(), b.layer(), a.name()); // records: every hyper-parameter and initialiser
            assertEquals(a.inputs(), b.inputs(), a.name());
            assertEquals(a.outputShape(), b.outputShape(), a.name());
            assertEquals(a.params(), b.params(), a.name());
        }
        assertEquals(g.output().name(), back.output().name());
        assertArrayEquals(bytes, ModelFile.encode(back, new float[(int) new ParameterLayout(g).trainableSize()],
                new float[(int) new ParameterLayout(g).stateSize()]));
    }

    @Test
    void loadedModelsPredictTheSameLogits() throws IOException {
        float[] x = Fixtures.inputs(N, 9);
        Map<String, float[]> logits = new HashMap<>();
        List<Backend> backends = Fixtures.backends();
        for (Backend b : backends) {
            Path file = dir.resolve(b.name() + ".bw");
            float[] before;
            float[] values;
            float[] state;
            try (Model m = Fixtures.trained(b); Predictor p = m.predictor(options())) {
                assertEquals(16, p.batch());
                before = p.predict(x, N);
                values = m.parameters().logicalValues();
                state = m.parameters().state().toArray();
                m.save(file);
            }
            try (Model m = Model.load(file, b); Predictor p = m.predictor(options())) {
                assertArrayEquals(bits(values), bits(m.parameters().logicalValues()), b.name() + ": weights");
                assertArrayEquals(bits(state), bits(m.parameters().state().toArray()), b.name() + ": BatchNorm statistics");
                float[] after = p.predict(x, N);
                assertArrayEquals(bits(before), bits(after), b.name() + ": logits after save and load");
                logits.put(b.name(), after);
            }
            // The same file on every backend: the logits agree within the conformance tolerance.
            for (Backend other : backends) {
                try (Model m = Model.load(file, other); Predictor p = m.predictor(options())) {
                    float[] y = p.predict(x, N);
                    double err = relativeError(y, logits.get(b.name()));
                    assertTrue(err <= TOLERANCE, b.name() + " file on " + other.name() + ": error " + err);
                }
            }
        }
        // Not trivially equal: the model computes something that depends on its input.
        float[] y = logits.get("reference");
        assertTrue(y[0] != y[3] || y[1] != y[4], Arrays.toString(Arrays.copyOf(y, 6)));
    }

    /** Inference mode: each sample's logits are its own, whether alone, in a full pass or in a padded one. */
    @Test
    void logitsDoNotDependOnTheBatchAround() {
        float[] x = Fixtures.inputs(N, 4);
        Backend ref = Fixtures.backends().get(0);
        try (Model m = Fixtures.trained(ref); Predictor small = m.predictor(options()); Predictor big = m.predictor()) {
            assertTrue(big.batch() >= N, "the planner's inference batch " + big.batch());
            float[] all = big.predict(x, N);
            assertArrayEquals(bits(all), bits(small.predict(x, N)));
            int per = Fixtures.SAMPLE.sizeAsInt();
            float[] one = small.predict(Arrays.copyOfRange(x, 5 * per, 6 * per), 1);
            assertArrayEquals(bits(Arrays.copyOfRange(all, 5 * Fixtures.CLASSES, 6 * Fixtures.CLASSES)), bits(one));
            float[] p = small.predictProbabilities(x, N);
            for (int s = 0; s < N; s++) {
                double sum = 0;
                for (int k = 0; k < Fixtures.CLASSES; k++) {
                    sum += p[s * Fixtures.CLASSES + k];
                }
                assertEquals(1, sum, 1e-6);
            }
        }
    }

    static Predictor.Options options() {
        return Predictor.Options.defaults().withMaxBatch(16).withBudget(Budget.parse("1GiB"));
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }

    static double relativeError(float[] a, float[] b) {
        double max = 1;
        double err = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(b[i]));
            err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        return err / max;
    }
}
