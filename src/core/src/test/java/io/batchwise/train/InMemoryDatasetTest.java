package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.Tensor;
import org.junit.jupiter.api.Test;

class InMemoryDatasetTest {
    /** 5 samples of shape (1, 3): sample i holds 10 i, 10 i + 1, 10 i + 2. */
    private static InMemoryDataset data() {
        float[] x = new float[15];
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 3; j++) {
                x[3 * i + j] = 10 * i + j;
            }
        }
        return InMemoryDataset.labelled(x, Shape.of(1, 3), new int[] {0, 1, 2, 3, 4});
    }

    private static final int[] ORDER = {4, 0, 3, 1, 2};
    private static final double[] GATHERED = {0, 1, 2, 30, 31, 32, 10, 11, 12}; // ORDER[1..4) = samples 0, 3, 1

    @Test
    void gathersIntoAHostTensorSampleBySample() {
        ArrayTensor t = ArrayTensor.zeros(9);
        data().copyInputs(ORDER, 1, 3, t, new float[0]); // host memory: no staging used
        assertArrayEquals(GATHERED, t.a);
    }

    @Test
    void stagesForADeviceTensorAndWritesOnce() {
        CountingTensor t = new CountingTensor(9);
        float[] staging = new float[9];
        data().copyInputs(ORDER, 1, 3, t, staging);
        assertEquals(1, t.writes, "one transfer for the whole batch");
        assertArrayEquals(new float[] {0, 1, 2, 30, 31, 32, 10, 11, 12}, t.values);
    }

    /** A tensor that is not host memory: counts its writes. */
    private static final class CountingTensor implements Tensor {
        final float[] values;
        int writes;

        CountingTensor(int n) {
            values = new float[n];
        }

        public Shape shape() {
            return Shape.of(values.length);
        }

        public DataType dataType() {
            return DataType.FLOAT32;
        }

        public long bytes() {
            return 4L * values.length;
        }

        public void read(long offset, float[] dst, int dstOff, int len) {
            System.arraycopy(values, (int) offset, dst, dstOff, len);
        }

        public void write(long offset, float[] src, int srcOff, int len) {
            writes++;
            System.arraycopy(src, srcOff, values, (int) offset, len);
        }

        public void close() {
        }
    }
}
