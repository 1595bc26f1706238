package io.batchwise.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.layer.Add;
import io.batchwise.layer.BatchNorm;
import org.junit.jupiter.api.Test;

/** The built-in models have exactly the documented shapes and sizes. */
class ModelsTest {
    @Test
    void mlp() {
        Graph g = Models.mlp();
        assertEquals(235_146, g.parameterCount());
        assertEquals(Shape.of(256), g.node("fc1").outputShape());
        assertEquals(Shape.of(128), g.node("fc2").outputShape());
        assertEquals(Shape.of(10), g.output().outputShape());
        assertEquals(6, g.nodes().size());
    }

    @Test
    void lenet() {
        Graph g = Models.lenet();
        assertEquals(44_426, g.parameterCount());
        assertEquals(Shape.of(6, 24, 24), g.node("conv1").outputShape());
        assertEquals(Shape.of(6, 12, 12), g.node("pool1").outputShape());
        assertEquals(Shape.of(16, 8, 8), g.node("conv2").outputShape());
        assertEquals(Shape.of(16, 4, 4), g.node("pool2").outputShape());
        assertEquals(Shape.of(120), g.node("fc1").outputShape());
        assertEquals(Shape.of(84), g.node("fc2").outputShape());
        assertEquals(Shape.of(10), g.output().outputShape());
    }

    @Test
    void resnetSmall() {
        Graph g = Models.resnetSmall();
        assertEquals(77_754, g.parameterCount());
        assertEquals(Shape.of(16, 28, 28), g.node("s1.relu").outputShape());
        assertEquals(Shape.of(32, 14, 14), g.node("s2.relu").outputShape());
        assertEquals(Shape.of(64, 7, 7), g.node("s3.relu").outputShape());
        assertEquals(Shape.of(64), g.node("pool").outputShape());
        assertEquals(Shape.of(10), g.output().outputShape());
        assertEquals(3, g.nodes().stream().filter(n -> n.layer() instanceof Add).count());
        assertEquals(9, g.nodes().stream().filter(n -> n.layer() instanceof BatchNorm).count());
        // identity shortcut in stage 1, projections in stages 2 and 3
        assertEquals(java.util.List.of("s1.bn2", "stem.relu"), g.node("s1.add").inputs());
        assertEquals(java.util.List.of("s2.bn2", "s2.proj_bn"), g.node("s2.add").inputs());
    }

    @Test
    void byName() {
        for (String n : Models.names()) {
            assertEquals(Models.INPUT, Models.byName(n).inputs().get(0).outputShape());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Models.byName("vgg"));
        assertTrue(e.getMessage().contains("mlp, lenet, resnet-small"), e.getMessage());
    }
}
