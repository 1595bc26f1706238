package io.batchwise.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.batchwise.Shape;
import org.junit.jupiter.api.Test;

class ModelsTest {
    @Test
    void builtInModelsHaveTheirPublishedShapes() {
        // 784*256+256 + 256*128+128 + 128*10+10
        assertEquals(235_146, Models.mlp().parameterCount());
        assertEquals(44_426, Models.lenet().parameterCount());
        assertEquals(Shape.of(16, 4, 4), Models.lenet().node("pool2").outputShape());
        assertEquals(Shape.of(64, 7, 7), Models.resnetSmall().node("b3_out").outputShape());
        assertEquals(Shape.of(10), Models.resnetSmall().output().outputShape());
        assertEquals(Models.lenet().toString(), Models.byName("lenet").toString());
        assertThrows(IllegalArgumentException.class, () -> Models.byName("vgg"));
    }
}
