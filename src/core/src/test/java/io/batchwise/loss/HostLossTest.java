package io.batchwise.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.batchwise.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HostLossTest {

    @Test
    void crossEntropyByHand() {
        // logits (1, 3) = [1, 2, 3], label 2: softmax = e^z / (e + e^2 + e^3)
        double[] out = {1, 2, 3};
        double[] g = new double[3];
        LossResult r = HostLoss.compute(new SoftmaxCrossEntropy(), Shape.of(3), 1, out, Targets.labels(2), 1, g);
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertEquals(-Math.log(Math.exp(3) / z), r.sum(), 1e-12);
        assertEquals(Math.exp(1) / z, g[0], 1e-12);
        assertEquals(Math.exp(3) / z - 1, g[2], 1e-12);
        assertEquals(1, r.correct());
        assertEquals(1, r.terms());
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random rnd = new Random(7);
        int b = 4;
        int k = 5;
        double[] out = new double[b * k];
        float[] t = new float[b * k];
        for (int i = 0; i < out.length; i++) {
            out[i] = rnd.nextGaussian();
            t[i] = (float) rnd.nextGaussian();
        }
        Targets labels = Targets.labels(0, 4, 2, 2);
        Targets values = Targets.values(Shape.of(k), t);
        for (Loss loss : new Loss[] {new SoftmaxCrossEntropy(0.1f), new MeanSquaredError()}) {
            Targets tg = loss instanceof MeanSquaredError ? values : labels;
            double[] g = new double[out.length];
            HostLoss.compute(loss, Shape.of(k), b, out, tg, 0.5, g);
            for (int i = 0; i < out.length; i++) {
                double h = 1e-6;
                double[] p = out.clone();
                p[i] += h;
                double up = HostLoss.compute(loss, Shape.of(k), b, p, tg, 1, new double[out.length]).sum();
                p[i] -= 2 * h;
                double down = HostLoss.compute(loss, Shape.of(k), b, p, tg, 1, new double[out.length]).sum();
                assertEquals(0.5 * (up - down) / (2 * h), g[i], 1e-7, loss + " element " + i);
            }
        }
    }

    @Test
    void sumsSplitAcrossMicroBatches() {
        double[] out = {0.1, 0.9, 0.4, 0.2, 3, -1};
        Targets y = Targets.labels(1, 0, 0);
        Loss ce = new SoftmaxCrossEntropy();
        LossResult whole = HostLoss.compute(ce, Shape.of(2), 3, out, y, 1, new double[6]);
        LossResult a = HostLoss.compute(ce, Shape.of(2), 2, new double[] {0.1, 0.9, 0.4, 0.2}, y.slice(0, 2), 1, new double[4]);
        LossResult c = HostLoss.compute(ce, Shape.of(2), 1, new double[] {3, -1}, y.slice(2, 1), 1, new double[2]);
        LossResult sum = a.plus(c);
        assertEquals(whole.sum(), sum.sum(), 1e-15);
        assertEquals(whole.correct(), sum.correct());
        assertEquals(3, sum.samples());
        assertEquals(whole.mean(), sum.mean(), 1e-15);
    }

    @Test
    void badTargets() {
        var e = assertThrows(IllegalArgumentException.class, () -> HostLoss.compute(new SoftmaxCrossEntropy(),
                Shape.of(3), 1, new double[3], Targets.labels(3), 1, new double[3]));
        assertEquals("label 3 of sample 0 is outside [0, 3)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> HostLoss.compute(new MeanSquaredError(),
                Shape.of(3), 1, new double[3], Targets.labels(0), 1, new double[3]));
        assertThrows(IllegalArgumentException.class, () -> HostLoss.compute(new SoftmaxCrossEntropy(),
                Shape.of(3), 2, new double[6], Targets.labels(0), 1, new double[6]));
        assertEquals(6, new MeanSquaredError().termsPerSample(Shape.of(2, 3)));
    }
}
