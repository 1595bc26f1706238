package io.batchwise.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.batchwise.Shape;
import io.batchwise.train.InMemoryDataset;
import org.junit.jupiter.api.Test;

/** Statistics fitted on the training set, applied unchanged to another. */
class StandardizationTest {
    @Test
    void perFeatureFitsTheTrainingSetAndAppliesItToTheTestSet() {
        // Feature 0: 1, 3, 5 (mean 3, population std sqrt(8/3)); feature 1: constant 7 (std 1: maps to 0).
        InMemoryDataset train = InMemoryDataset.labelled(new float[] {1, 7, 3, 7, 5, 7}, Shape.of(2), new int[] {0, 1, 0});
        Standardization s = Standardization.perFeature(train);
        assertArrayEquals(new float[] {3, 7}, s.mean());
        assertArrayEquals(new float[] {(float) Math.sqrt(8.0 / 3), 1}, s.std());
        InMemoryDataset test = InMemoryDataset.labelled(new float[] {3, 9}, Shape.of(2), new int[] {1});
        InMemoryDataset z = s.apply(test);
        assertArrayEquals(new float[] {0, 2}, CsvFormatTest.inputs(z));
        assertArrayEquals(new int[] {1}, CsvFormatTest.labels(z)); // labels carried over
        float[] trainZ = CsvFormatTest.inputs(s.apply(train));
        assertEquals(0, trainZ[0] + trainZ[2] + trainZ[4], 1e-6);
        assertEquals(3, trainZ[0] * trainZ[0] + trainZ[2] * trainZ[2] + trainZ[4] * trainZ[4], 1e-5); // unit variance
    }

    @Test
    void perChannelPoolsEachChannelsPixels() {
        // (2, 1, 2): channel 0 pixels {0, 2} and {4, 6}: mean 3; channel 1 all 10.
        InMemoryDataset d = InMemoryDataset.labelled(new float[] {0, 2, 10, 10, 4, 6, 10, 10}, Shape.of(2, 1, 2), new int[] {0, 0});
        Standardization s = Standardization.perChannel(d);
        assertEquals(2, s.group());
        assertArrayEquals(new float[] {3, 10}, s.mean());
        assertArrayEquals(new float[] {(float) Math.sqrt(5), 1}, s.std());
        assertThrows(IllegalArgumentException.class, () -> Standardization.perChannel(
                InMemoryDataset.labelled(new float[] {1}, Shape.of(1), new int[] {0})));
        assertThrows(IllegalArgumentException.class, () -> s.apply(InMemoryDataset.labelled(new float[3], Shape.of(3), new int[] {0})));
    }
}
