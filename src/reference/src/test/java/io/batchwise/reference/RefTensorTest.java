package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.MemoryTracker;
import org.junit.jupiter.api.Test;

class RefTensorTest {
    private final MemoryTracker tracker = new MemoryTracker();

    @Test
    void float32RoundsEveryWriteAndFloat64KeepsDoubles() {
        double third = 1.0 / 3;
        try (RefTensor f = new RefTensor(Shape.of(2), DataType.FLOAT32, tracker, null);
             RefTensor d = new RefTensor(Shape.of(2), DataType.FLOAT64, tracker, null)) {
            f.set(0, third);
            f.writeDoubles(new double[] {third, third});
            assertEquals((double) (float) third, f.get(1));
            d.writeDoubles(new double[] {third, -third});
            assertArrayEquals(new double[] {third, -third}, d.toDoubles());
            d.set(1, third);
            assertEquals(third, d.get(1));

            // kernels write raw doubles, round() makes them float32 values
            f.data[0] = third;
            f.round();
            assertEquals((double) (float) third, f.data[0]);
        }
    }

    @Test
    void readsAndWritesFloatRanges() {
        try (RefTensor t = new RefTensor(Shape.of(2, 3), DataType.FLOAT32, tracker, null)) {
            t.write(2, new float[] {9, 1, 2, 9}, 1, 2);
            float[] out = new float[4];
            t.read(1, out, 1, 3);
            assertArrayEquals(new float[] {0, 0, 1, 2}, out);
            assertThrows(IndexOutOfBoundsException.class, () -> t.read(5, out, 0, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.write(-1, out, 0, 1));
        }
    }

    @Test
    void wrongLengthNamesTheOwnerAndBothShapes() {
        try (RefTensor t = new RefTensor(Shape.of(4, 3, 2), DataType.FLOAT32, tracker, "input 'pixels'")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.write(new float[5]));
            assertTrue(e.getMessage().contains("input 'pixels'"), e.getMessage());
            assertTrue(e.getMessage().contains("(4, 3, 2)"), e.getMessage());
            assertTrue(e.getMessage().contains("(3, 2)"), e.getMessage());
            assertTrue(e.getMessage().contains("got 5 values"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.writeDoubles(new double[25]));
        }
    }

    @Test
    void countsItsBytesUntilClosedOnce() {
        RefTensor a = new RefTensor(Shape.of(10), DataType.FLOAT32, tracker, null);
        RefTensor b = new RefTensor(Shape.of(10), DataType.FLOAT64, tracker, null);
        assertEquals(40 + 80, tracker.liveBytes());
        assertEquals(40, a.bytes());
        a.close();
        a.close();
        assertEquals(80, tracker.liveBytes());
        assertThrows(IllegalStateException.class, () -> a.get(0));
        assertThrows(IllegalStateException.class, a::toArray);
        b.close();
        assertEquals(0, tracker.liveBytes());
        assertEquals(120, tracker.peakBytes());
    }

    @Test
    void indicesCountFourBytesEach() {
        RefIndices i = new RefIndices(6, tracker);
        assertEquals(24, tracker.liveBytes());
        i.close();
        i.close();
        assertEquals(0, tracker.liveBytes());
    }
}
