package io.batchwise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphTest {

    /** LeNet-5 as in the benchmarks: every shape inferred at build time. */
    @Test
    void infersShapesThroughLeNet() {
        Graph g = Graph.builder()
                .input("x", Shape.of(1, 28, 28))
                .then("conv1", Conv2d.of(6, 5)).then("relu1", new ReLU()).then("pool1", MaxPool2d.of(2))
                .then("conv2", Conv2d.of(16, 5)).then("relu2", new ReLU()).then("pool2", MaxPool2d.of(2))
                .then("fc1", new Dense(120)).then("relu3", new ReLU())
                .then("fc2", new Dense(84)).then("relu4", new ReLU())
                .then("fc3", new Dense(10))
                .build();
        assertEquals(Shape.of(6, 24, 24), g.node("conv1").outputShape());
        assertEquals(Shape.of(16, 4, 4), g.node("pool2").outputShape());
        assertEquals(Shape.of(10), g.output().outputShape());
        assertEquals(Shape.of(120, 256), g.node("fc1").params().get(0).shape());
        // 6*25+6 + 16*6*25+16 + 256*120+120 + 120*84+84 + 84*10+10
        assertEquals(44_426, g.parameterCount());
    }

    @Test
    void convolutionArithmetic() {
        Shape in = Shape.of(3, 9, 11);
        assertEquals(Shape.of(5, 5, 6), Conv2d.of(5, 3).stride(2).padding(1).outputShape(List.of(in)));
        assertEquals(Shape.of(5, 9, 11), Conv2d.of(5, 3).padding(2).dilation(2).outputShape(List.of(in)));
        assertEquals(Shape.of(5, 5, 9), Conv2d.of(5, 3).stride(2, 1).padding(1, 0).outputShape(List.of(in)));
        assertEquals(Shape.of(3, 5, 6), MaxPool2d.of(3, 2, 1).outputShape(List.of(in)));
        assertEquals(Shape.of(3, 4, 5), AvgPool2d.of(2).outputShape(List.of(in)));
        assertEquals(Shape.of(3), new GlobalAvgPool2d().outputShape(List.of(in)));
        assertEquals(Shape.of(297), new Flatten().outputShape(List.of(in)));
    }

    @Test
    void residualAndConcat() {
        Graph g = Graph.builder()
                .input("x", Shape.of(4, 8, 8))
                .then("a", Conv2d.of(4, 3).padding(1))
                .then("bn", new BatchNorm())
                .add("sum", new Add(), "x", "bn")
                .add("cat", new Concat(), "sum", "x", "a")
                .build();
        assertEquals(Shape.of(12, 8, 8), g.output().outputShape());
        assertEquals(List.of("sum"), g.consumers("bn").stream().map(Node::name).toList());
        assertEquals(3, g.consumers("x").size());
    }

    @Test
    void shapeMismatchNamesNodeAndShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Graph.builder()
                .input("x", Shape.of(4, 8, 8))
                .then("narrow", Conv2d.of(2, 1))
                .add("res", new Add(), "x", "narrow")
                .build());
        assertTrue(e.getMessage().contains("'res' (Add)"), e.getMessage());
        assertTrue(e.getMessage().contains("(4, 8, 8)") && e.getMessage().contains("(2, 8, 8)"), e.getMessage());

        var e2 = assertThrows(IllegalArgumentException.class, () -> Graph.builder()
                .input("x", Shape.of(784))
                .then("conv", Conv2d.of(2, 3))
                .build());
        assertTrue(e2.getMessage().contains("'conv' (Conv2d)") && e2.getMessage().contains("(784)"), e2.getMessage());

        var e3 = assertThrows(IllegalArgumentException.class, () -> Graph.builder()
                .input("x", Shape.of(1, 4, 4))
                .then("conv", Conv2d.of(2, 5))
                .build());
        assertTrue(e3.getMessage().contains("does not fit input shape (1, 4, 4)"), e3.getMessage());
    }

    @Test
    void structuralErrors() {
        assertThrows(IllegalArgumentException.class, () -> Graph.builder().input("x", Shape.of(3))
                .then("x", new ReLU()).build(), "duplicate name");
        var e = assertThrows(IllegalArgumentException.class, () -> Graph.builder().input("x", Shape.of(3))
                .add("r", new ReLU(), "y").build());
        assertTrue(e.getMessage().contains("'y' is not declared"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Graph.builder().input("x", Shape.of(3))
                .add("s", new Add(), "x").build(), "Add needs two inputs");
        assertThrows(IllegalStateException.class, () -> Graph.builder().then("r", new ReLU()));
        assertThrows(IllegalArgumentException.class, () -> new Dense(0));
        assertThrows(IllegalArgumentException.class, () -> Conv2d.of(3, 0));
        assertThrows(IllegalArgumentException.class, () -> MaxPool2d.of(2, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(3, 0));
    }

    @Test
    void shapeBatchAxis() {
        Shape s = Shape.of(3, 5);
        assertEquals(Shape.of(7, 3, 5), s.withBatch(7));
        assertEquals(s, s.withBatch(7).withoutBatch());
        assertEquals("(3, 5)", s.toString());
        assertEquals(15, s.size());
    }
}
