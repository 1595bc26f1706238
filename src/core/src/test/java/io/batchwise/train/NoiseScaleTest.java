package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NoiseScaleTest {

    /** Feed the expected squared norms E|G_b|^2 = |G|^2 + tr/b: the estimator returns |G|^2 and tr exactly. */
    @Test
    void exactOnExpectedNorms() {
        double g2 = 3;
        double tr = 600;
        NoiseScale n = new NoiseScale(0.9);
        for (int i = 0; i < 5; i++) {
            n.add(g2 + tr / 8, 8, g2 + tr / 64, 64);
        }
        assertEquals(g2, n.gradientNormSquared(), 1e-9);
        assertEquals(tr, n.traceCovariance(), 1e-9);
        assertEquals(200, n.simple(), 1e-9);
        assertEquals(5, n.count());
    }

    @Test
    void emptyAndBadInput() {
        NoiseScale n = new NoiseScale(0.5);
        assertTrue(Double.isNaN(n.simple()));
        assertThrows(IllegalArgumentException.class, () -> n.add(1, 8, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> new NoiseScale(1));
        n.add(1, 1, 2, 2); // |G|^2 estimate 3, tr estimate -2: a noisy early pair can be negative
        assertEquals(3, n.gradientNormSquared(), 1e-12);
        assertEquals(-2, n.traceCovariance(), 1e-12);
    }

    /** A checkpoint keeps the averages: a restored estimator continues exactly as the original. */
    @Test
    void stateRoundTrips() {
        NoiseScale a = new NoiseScale(0.9);
        a.add(80, 8, 12, 64);
        a.add(70, 8, 11, 64);
        NoiseScale b = new NoiseScale(0.9);
        b.state(a.state());
        a.add(90, 8, 13, 64);
        b.add(90, 8, 13, 64);
        assertEquals(a.simple(), b.simple(), 0);
        assertEquals(3, b.count());
        b.reset();
        assertEquals(0, b.count());
        assertTrue(Double.isNaN(b.simple()));
    }
}
