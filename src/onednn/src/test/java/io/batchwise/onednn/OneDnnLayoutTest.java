package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.batchwise.Shape;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Host access to blocked layouts agrees with oneDNN's own addressing: a plain tensor of
 * {@code 0, 1, 2, ...} reordered by oneDNN into a blocked layout reads back as {@code 0, 1, 2, ...}, whole
 * (a staged reorder) and as a range (through {@link OneDnnLayout}), and values written through it reorder
 * back to plain unchanged.
 */
class OneDnnLayoutTest {

    @ParameterizedTest
    @ValueSource(strings = {"nchw", "nhwc", "nChw8c", "nChw16c", "NChw16n16c", "OIhw16i16o", "OIhw8i16o2i", "ABcd16b16a"})
    void blockedLayoutsMatchOneDnn(String tag) {
        OneDnnRuntime rt = OneDnnRuntime.get();
        long[] dims = {18, 21, 3, 5}; // odd sizes: every block is padded
        Shape shape = Shape.of(18, 21, 3, 5);
        try (PointerScope scope = new PointerScope()) {
            memory.desc blockedMd = new memory.desc(dims, memory.data_type.f32, memory.format_tag.valueOf(tag));
            try (OneDnnTensor plain = OneDnnTensor.allocate(rt, shape, OneDnnMd.plain(dims), false, "plain");
                 OneDnnTensor blocked = OneDnnTensor.allocate(rt, shape, blockedMd, false, tag)) {
                float[] values = new float[Math.toIntExact(shape.size())];
                for (int i = 0; i < values.length; i++) {
                    values[i] = i;
                }
                plain.write(values);
                new reorder(plain.memory(), blocked.memory()).execute(rt.stream, plain.memory(), blocked.memory());
                rt.stream._wait();
                float[] back = blocked.toArray(); // whole tensor: a staged reorder
                for (int i = 0; i < values.length; i++) {
                    assertEquals(values[i], back[i], tag + " element " + i);
                }
                float[] part = new float[13]; // a range: OneDnnLayout's addressing, element by element
                blocked.read(7, part, 0, part.length);
                for (int i = 0; i < part.length; i++) {
                    assertEquals(values[7 + i], part[i], tag + " element " + (7 + i) + " read as part of a range");
                }
                for (int i = 0; i < values.length; i++) {
                    values[i] = -2 * i;
                }
                blocked.write(values);
                for (int i = 11; i < 14; i++) {
                    values[i] = 1000 + i; // then a range, element by element
                }
                blocked.write(11, values, 11, 3);
                new reorder(blocked.memory(), plain.memory()).execute(rt.stream, blocked.memory(), plain.memory());
                rt.stream._wait();
                float[] again = plain.toArray();
                for (int i = 0; i < values.length; i++) {
                    assertEquals(values[i], again[i], tag + " element " + i + " written");
                }
            }
        }
    }
}
