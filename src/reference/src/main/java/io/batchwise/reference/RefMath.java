package io.batchwise.reference;

/**
 * Special functions Java's {@link Math} lacks, in float64: the error function and the standard
 * normal distribution that exact GELU needs.
 *
 * <p>{@link #erf} and {@link #erfc} follow W. J. Cody, "Rational Chebyshev approximations for the
 * error function", Math. Comp. 23 (1969) 631-638, as in his SPECFUN routine CALERF: three
 * rational approximations on |x| <= 0.46875, (0.46875, 4] and (4, 26.543), good to about
 * 1e-16 relative in double precision.
 */
final class RefMath {
    private RefMath() {
    }

    // erf(x) = x A(x^2) / B(x^2) on |x| <= 0.46875
    private static final double[] A = {3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
            3.20937758913846947e03, 1.85777706184603153e-1};
    private static final double[] B = {2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
            2.84423683343917062e03};
    // erfc(y) = exp(-y^2) C(y) / D(y) on 0.46875 < y <= 4
    private static final double[] C = {5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
            2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03,
            1.23033935479799725e03, 2.15311535474403846e-8};
    private static final double[] D = {1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
            1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03,
            1.23033935480374942e03};
    // erfc(y) = exp(-y^2) (1/sqrt(pi) - z P(z) / Q(z)) / y with z = 1 / y^2, on 4 < y < 26.543
    private static final double[] P = {3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
            1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2};
    private static final double[] Q = {2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
            6.05183413124413191e-2, 2.33520497626869185e-3};

    private static final double THRESHOLD = 0.46875;
    /** Beyond it erfc(y) underflows to 0. */
    private static final double BIG = 26.543;
    private static final double ONE_OVER_SQRT_PI = 0.56418958354775628695;
    private static final double SQRT_HALF = 0.70710678118654752440;
    private static final double ONE_OVER_SQRT_2PI = 0.39894228040143267794;

    /** The error function {@code 2/sqrt(pi) * integral_0^x exp(-t^2) dt}. */
    static double erf(double x) {
        double y = Math.abs(x);
        if (y <= THRESHOLD) {
            return x * small(y);
        }
        double r = 1 - erfcPositive(y);
        return x < 0 ? -r : r;
    }

    /** The complementary error function {@code 1 - erf(x)}, accurate where erf(x) is close to 1. */
    static double erfc(double x) {
        double y = Math.abs(x);
        if (y <= THRESHOLD) {
            return 1 - x * small(y);
        }
        double r = erfcPositive(y);
        return x < 0 ? 2 - r : r;
    }

    /** Standard normal distribution function {@code Phi(x) = erfc(-x / sqrt 2) / 2}. */
    static double normalCdf(double x) {
        return 0.5 * erfc(-x * SQRT_HALF);
    }

    /** Standard normal density {@code phi(x) = exp(-x^2 / 2) / sqrt(2 pi)}. */
    static double normalPdf(double x) {
        return ONE_OVER_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    /** erf(y) / y for |y| <= 0.46875: A(y^2) / B(y^2). */
    private static double small(double y) {
        double z = y * y;
        double num = A[4] * z;
        double den = z;
        for (int i = 0; i < 3; i++) {
            num = (num + A[i]) * z;
            den = (den + B[i]) * z;
        }
        return (num + A[3]) / (den + B[3]);
    }

    /** erfc(y) for y > 0.46875. */
    private static double erfcPositive(double y) {
        if (y >= BIG) {
            return 0;
        }
        double r;
        if (y <= 4) {
            double num = C[8] * y;
            double den = y;
            for (int i = 0; i < 7; i++) {
                num = (num + C[i]) * y;
                den = (den + D[i]) * y;
            }
            r = (num + C[7]) / (den + D[7]);
        } else {
            double z = 1 / (y * y);
            double num = P[5] * z;
            double den = z;
            for (int i = 0; i < 4; i++) {
                num = (num + P[i]) * z;
                den = (den + Q[i]) * z;
            }
            r = (ONE_OVER_SQRT_PI - z * (num + P[4]) / (den + Q[4])) / y;
        }
        // exp(-y^2) in two factors, y^2 = s^2 + (y - s)(y + s) with s = y rounded down to 1/16,
        // so that the rounding error of y * y is not amplified by exp.
        double s = Math.floor(y * 16) / 16;
        return Math.exp(-s * s) * Math.exp(-(y - s) * (y + s)) * r;
    }
}
