package io.batchwise.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Shape;
import io.batchwise.loss.HostLoss;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EvaluationTest {
    /** Six samples, three classes; the matrix, precision, recall, F1 and top-2 worked out by hand in the comments. */
    @Test
    void matchesAHandComputedConfusionMatrix() {
        float[] out = {
            2, 1, 0, // label 0 -> 0
            0, 3, 1, // label 0 -> 1; two outputs above the label's: not in the top 2
            1, 1, 0, // label 1 -> 0 (a tie goes to the first); in the top 2
            0, 5, 2, // label 1 -> 1
            0, 1, 4, // label 2 -> 2
            3, 0, 1, // label 2 -> 0; in the top 2
        };
        int[] labels = {0, 0, 1, 1, 2, 2};
        Evaluation e = Evaluation.of(out, labels, 3, 2);
        assertArrayEquals(new long[][] {{1, 1, 0}, {1, 1, 0}, {1, 0, 1}}, e.confusionMatrix());
        assertEquals(6, e.samples());
        assertEquals(0.5, e.accuracy());
        assertEquals(5 / 6.0, e.topKAccuracy(), 1e-15);
        // predicted as 0: 3 (one right), as 1: 2 (one right), as 2: 1 (right); each class has 2 samples, one right
        assertEquals(1 / 3.0, e.precision(0), 1e-15);
        assertEquals(1 / 2.0, e.precision(1), 1e-15);
        assertEquals(1.0, e.precision(2), 1e-15);
        for (int c = 0; c < 3; c++) {
            assertEquals(0.5, e.recall(c), 1e-15);
            assertEquals(2, e.support(c));
        }
        assertEquals(0.4, e.f1(0), 1e-12); // 2 (1/3)(1/2) / (1/3 + 1/2)
        assertEquals(0.5, e.f1(1), 1e-12);
        assertEquals(2 / 3.0, e.f1(2), 1e-12);
        assertEquals((0.4 + 0.5 + 2 / 3.0) / 3, e.macroF1(), 1e-12);
        // top-1 is the accuracy, ties included
        assertEquals(e.accuracy(), Evaluation.of(out, labels, 3, 1).topKAccuracy());
        assertEquals(1.0, Evaluation.of(out, labels, 3, 3).topKAccuracy());

        String report = e.report(List.of("a", "b", "c"));
        assertTrue(report.startsWith("accuracy 0.5000 on 6 samples"), report);
        assertTrue(report.contains("top-2 accuracy 0.8333") && report.contains("0 a") && report.contains("0.4000"), report);

        // the result is immutable: the matrix handed out is a copy
        e.confusionMatrix()[0][0] = 99;
        assertEquals(1, e.count(0, 0));
    }

    @Test
    void aClassNeverPredictedOrPresentScoresZeroNotNaN() {
        Evaluation e = Evaluation.of(new float[] {1, 0, 0, 0, 1, 0}, new int[] {0, 0}, 3, 1); // 0 -> 0, 0 -> 1
        assertEquals(0.5, e.accuracy());
        assertEquals(0, e.precision(2)); // never predicted
        assertEquals(0, e.recall(2)); // never present
        assertEquals(0, e.f1(2));
        assertEquals(0, e.recall(1));
        assertEquals(0, e.precision(1)); // predicted once, wrongly
    }

    /** The accuracy is the trainer's (HostLoss's arg-max), ties and all, so predict can match train exactly. */
    @Test
    void accuracyCountsAsTheTrainerDoes() {
        Random r = new Random(5);
        int n = 500;
        int k = 10;
        float[] out = new float[n * k];
        int[] y = new int[n];
        for (int i = 0; i < out.length; i++) {
            out[i] = r.nextInt(4); // many ties
        }
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(k);
        }
        double[] d = new double[out.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = out[i];
        }
        var lr = HostLoss.compute(new SoftmaxCrossEntropy(), Shape.of(k), n, d, Targets.labels(y), 1, new double[d.length]);
        assertEquals(lr.accuracy(), Evaluation.of(out, y, k, 1).accuracy());
        assertEquals(lr.accuracy(), Evaluation.of(out, y, k, 1).topKAccuracy());
    }

    @Test
    void refusesMismatchedInputs() {
        assertThrows(IllegalArgumentException.class, () -> Evaluation.of(new float[5], new int[2], 3, 1));
        assertThrows(IllegalArgumentException.class, () -> Evaluation.of(new float[6], new int[] {0, 3}, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> Evaluation.of(new float[6], new int[2], 3, 4));
    }
}
