package io.batchwise.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Dense;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A backend's parameter alignment: slots at multiples of it, zeros between them, and logical arrays (values,
 * state, optimizer state, checkpoints) packed and the same whatever the alignment or the storage order.
 */
class ParameterLayoutTest {
    /** fc1: weight (3, 2) + bias 3; bn: gamma, beta 3 each, running mean, variance 3 each; fc2: weight (2, 3) + bias 2. */
    private static final Graph G = Graph.builder().input("x", Shape.of(2)).then("fc1", new Dense(3)).then("bn", new BatchNorm())
            .then("fc2", new Dense(2)).build();

    /** Host memory, a layout aligned to {@code alignment} floats, and fc2.weight stored transposed. */
    private record Host(int alignment, boolean transposed) implements Backend {
        public String name() {
            return "host-" + alignment;
        }

        public Availability availability() {
            return Availability.yes("test");
        }

        public int priority() {
            return 0;
        }

        public Set<DataType> dataTypes() {
            return Set.of(DataType.FLOAT32);
        }

        public MemoryTracker memory() {
            return new MemoryTracker();
        }

        public Tensor allocate(Shape shape, DataType type) {
            float[] a = new float[shape.sizeAsInt()];
            return new Tensor() {
                public Shape shape() {
                    return shape;
                }

                public DataType dataType() {
                    return DataType.FLOAT32;
                }

                public long bytes() {
                    return 4L * a.length;
                }

                public void read(long offset, float[] dst, int dstOff, int len) {
                    System.arraycopy(a, (int) offset, dst, dstOff, len);
                }

                public void write(long offset, float[] src, int srcOff, int len) {
                    System.arraycopy(src, srcOff, a, (int) offset, len);
                }

                public void close() {
                }
            };
        }

        public Plan plan(Graph graph, int microBatch, PlanOptions options) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ParameterLayout parameterLayout(Graph graph) {
            return new ParameterLayout(graph, alignment);
        }

        @Override
        public Map<String, Parameters.Order> parameterOrders(Graph graph) {
            return transposed ? Map.of("fc2.weight", new Parameters.Order("transposed", new int[] {0, 3, 1, 4, 2, 5})) : Map.of();
        }
    }

    @Test
    void slotsStartAtMultiplesOfTheAlignmentAndTheSizesCountThePadding() {
        ParameterLayout packed = new ParameterLayout(G);
        ParameterLayout aligned = new ParameterLayout(G, 8);
        assertFalse(packed.padded());
        assertTrue(aligned.padded());
        assertEquals(List.of(0L, 6L, 9L, 12L, 15L, 21L), packed.slots().stream().filter(s -> s.spec().trainable())
                .map(ParameterLayout.Slot::offset).toList());
        assertEquals(List.of(0L, 8L, 16L, 24L, 32L, 40L), aligned.slots().stream().filter(s -> s.spec().trainable())
                .map(ParameterLayout.Slot::offset).toList());
        assertEquals(List.of(0L, 6L, 9L, 12L, 15L, 21L), aligned.slots().stream().filter(s -> s.spec().trainable())
                .map(ParameterLayout.Slot::logicalOffset).toList());
        assertEquals(23, packed.trainableSize());
        assertEquals(42, aligned.trainableSize());
        assertEquals(23, aligned.logicalTrainableSize());
        assertEquals(6, packed.stateSize());
        assertEquals(11, aligned.stateSize());
        assertEquals(6, aligned.logicalStateSize());
        assertThrows(IllegalArgumentException.class, () -> new ParameterLayout(G, 3));
    }

    @Test
    void logicalArraysArePackedAndTheSameOnEveryLayoutAndOrder() {
        try (Parameters packed = new Host(1, false).createParameters(G, DataType.FLOAT32).initialize(5);
             Parameters aligned = new Host(8, true).createParameters(G, DataType.FLOAT32)) {
            float[] state = {1, 2, 3, 4, 5, 6};
            packed.writeLogicalState(state);
            aligned.copyFrom(packed);
            assertArrayEquals(packed.logicalValues(), aligned.logicalValues());
            assertArrayEquals(state, aligned.logicalState());
            assertEquals(23, aligned.logicalValuesLength());
            for (ParameterLayout.Slot s : packed.layout().slots()) {
                assertArrayEquals(packed.read(s.node().name(), s.spec().name()), aligned.read(s.node().name(), s.spec().name()),
                        s.key());
            }
            // The stored buffers: zeros between slots, fc2.weight in its stored order.
            float[] stored = aligned.values().toArray();
            assertEquals(42, stored.length);
            for (int i = 6; i < 8; i++) {
                assertEquals(0f, stored[i], "padding after fc1.weight");
            }
            float[] w = packed.read("fc2", "weight");
            assertArrayEquals(new float[] {w[0], w[3], w[1], w[4], w[2], w[5]}, java.util.Arrays.copyOfRange(stored, 32, 38));
            float[] st = aligned.state().toArray();
            assertArrayEquals(new float[] {1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6}, st);
            // Per-value arrays (optimizer state, gradients) round-trip through the stored layout.
            float[] logical = new float[23];
            for (int i = 0; i < logical.length; i++) {
                logical[i] = i + 1;
            }
            float[] asStored = aligned.toStored(logical);
            assertEquals(0f, asStored[7]);
            assertArrayEquals(logical, aligned.toLogical(asStored));
            assertThrows(IllegalArgumentException.class, () -> aligned.toStored(new float[42]));
            assertThrows(IllegalArgumentException.class, () -> aligned.writeLogicalState(new float[11]));
        }
    }

    @Test
    void oneRuleForWhetherParametersFitAPlan() {
        new ParameterLayout(G).requireFits(new ParameterLayout(G));
        new ParameterLayout(G, 64).requireFits(new ParameterLayout(G, 64));
        // The same nodes and parameters with other shapes; and an equal graph built anew fits.
        Graph swapped = Graph.builder().input("x", Shape.of(3)).then("fc1", new Dense(2)).then("bn", new BatchNorm())
                .then("fc2", new Dense(3)).build();
        Graph g3 = Graph.builder().input("x", Shape.of(2)).then("fc1", new Dense(3)).then("bn", new BatchNorm())
                .then("fc2", new Dense(2)).build();
        new ParameterLayout(G).requireFits(new ParameterLayout(g3));
        var e = assertThrows(IllegalArgumentException.class, () -> new ParameterLayout(G).requireFits(new ParameterLayout(swapped)));
        assertTrue(e.getMessage().contains("first difference: the parameters have fc1.weight (2, 3) @0, the plan fc1.weight (3, 2) @0"),
                e.getMessage());
        var a = assertThrows(IllegalArgumentException.class, () -> new ParameterLayout(G, 64).requireFits(new ParameterLayout(G)));
        assertTrue(a.getMessage().contains("aligned to 1") && a.getMessage().contains("aligned to 64"), a.getMessage());
    }
}
