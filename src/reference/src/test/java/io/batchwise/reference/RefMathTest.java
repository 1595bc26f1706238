package io.batchwise.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** erf, erfc and the normal distribution against values from a correctly rounded libm (CPython's math module). */
class RefMathTest {

    private static void assertRelative(double expected, double actual, double tolerance) {
        assertEquals(expected, actual, tolerance * Math.abs(expected), () -> "relative error "
                + Math.abs(actual - expected) / Math.abs(expected));
    }

    @ParameterizedTest(name = "erf({0}) and erfc({0})")
    @CsvSource({
            "1e-20, 1.1283791670955125e-20, 1.0",
            "0.1, 0.1124629160182849, 0.8875370839817152",
            "0.3, 0.3286267594591274, 0.6713732405408726",
            "0.46875, 0.49261347321793797, 0.507386526782062",   // the first interval's end
            "0.5, 0.5204998778130465, 0.4795001221869535",
            "1.0, 0.8427007929497149, 0.15729920705028513",
            "2.0, 0.9953222650189527, 0.004677734981047265",
            "3.5, 0.9999992569016276, 7.430983723414128e-07",
            "4.0, 0.9999999845827421, 1.541725790028002e-08",    // the second interval's end
            "4.5, 0.9999999998033839, 1.9661604415428873e-10",
            "6.0, 1.0, 2.1519736712498916e-17"})
    void matchesLibm(double x, double erf, double erfc) {
        assertRelative(erf, RefMath.erf(x), 2e-15);
        assertRelative(erfc, RefMath.erfc(x), 2e-15);
        assertRelative(-erf, RefMath.erf(-x), 2e-15);   // odd
        assertRelative(2 - erfc, RefMath.erfc(-x), 2e-15);
    }

    @Test
    void farTailOfErfcKeepsItsRelativeAccuracy() {
        assertRelative(2.088487583762545e-45, RefMath.erfc(10), 1e-14);
        assertRelative(5.3958656116079005e-176, RefMath.erfc(20), 1e-13);
        assertRelative(5.663192408856143e-296, RefMath.erfc(26), 1e-13);
        assertEquals(0.0, RefMath.erfc(27));   // underflows
        assertEquals(1.0, RefMath.erf(40));
    }

    @ParameterizedTest(name = "Phi({0})")
    @CsvSource({"-1.0, 0.15865525393145707", "1.0, 0.8413447460685429", "-3.0, 0.0013498980316300957",
            "-8.0, 6.220960574271819e-16", "0.0, 0.5"})
    void normalDistribution(double x, double phi) {
        // Rounding x / sqrt(2) (1e-16) is amplified by about x^2 in the tail: 1e-14 at x = -8.
        assertRelative(phi, RefMath.normalCdf(x), 3e-14);
    }

    @Test
    void normalDensity() {
        assertRelative(0.3989422804014327, RefMath.normalPdf(0), 1e-15);
        assertRelative(0.24197072451914337, RefMath.normalPdf(1), 1e-15);
    }
}
