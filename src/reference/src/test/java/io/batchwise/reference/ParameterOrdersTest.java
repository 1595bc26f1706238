package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.ForwardingBackend;
import io.batchwise.backend.Parameters;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Dense;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Parameters} with a backend storage order ({@link Backend#parameterOrders}): here a reversed 2 x 3 weight,
 * on the reference backend's memory (nothing is executed). Logical access un-permutes; wrong orders are refused.
 */
class ParameterOrdersTest {
    private static final Graph G = Graph.builder().input("x", Shape.of(3))
            .then("fc", new Dense(2)).then("bn", new BatchNorm()).build();

    private static Backend ordered(Map<String, Parameters.Order> orders) {
        return new ForwardingBackend(new ReferenceBackend()) {
            @Override
            public Map<String, Parameters.Order> parameterOrders(Graph graph) {
                return orders;
            }
        };
    }

    @Test
    void logicalAccessUndoesTheStorageOrder() {
        Backend reversed = ordered(Map.of("fc.weight", new Parameters.Order("reversed", new int[] {5, 4, 3, 2, 1, 0})));
        try (Parameters p = reversed.createParameters(G, DataType.FLOAT32)) {
            float[] w = {1, 2, 3, 4, 5, 6};
            p.write("fc", "weight", w);
            assertArrayEquals(w, p.read("fc", "weight"));
            float[] raw = p.values().toArray();
            assertArrayEquals(new float[] {6, 5, 4, 3, 2, 1}, java.util.Arrays.copyOfRange(raw, 0, 6), "stored reversed");
            float[] logical = p.logicalValues();
            assertArrayEquals(w, java.util.Arrays.copyOfRange(logical, 0, 6));
            assertArrayEquals(raw, p.toStored(logical));
            p.gradients().write(raw); // a gradient in storage order reads back logical
            assertArrayEquals(w, p.readGradient("fc", "weight"));
            try (Parameters plain = new ReferenceBackend().createParameters(G, DataType.FLOAT32)) {
                plain.copyFrom(p);
                assertArrayEquals(w, plain.read("fc", "weight"));
                assertArrayEquals(logical, plain.values().toArray());
            }
        }
    }

    @Test
    void ordersThatAreNoPermutationOfATrainableParameterAreRefused() {
        String unknown = message(Map.of("fc.kernel", new Parameters.Order("x", new int[] {0})));
        assertTrue(unknown.contains("fc.kernel") && unknown.contains("fc.weight"), unknown);
        String repeated = message(Map.of("fc.weight", new Parameters.Order("x", new int[] {0, 1, 2, 3, 4, 4})));
        assertTrue(repeated.contains("fc.weight") && repeated.contains("not a permutation"), repeated);
        String shortOrder = message(Map.of("fc.weight", new Parameters.Order("x", new int[] {0, 1})));
        assertTrue(shortOrder.contains("6 values"), shortOrder);
        String state = message(Map.of("bn.runningMean", new Parameters.Order("x", new int[] {1, 0})));
        assertTrue(state.contains("state"), state);
    }

    private static String message(Map<String, Parameters.Order> orders) {
        return assertThrows(IllegalArgumentException.class, () -> ordered(orders).createParameters(G, DataType.FLOAT32).close())
                .getMessage();
    }
}
