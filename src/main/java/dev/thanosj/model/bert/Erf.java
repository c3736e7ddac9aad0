package dev.thanosj.model.bert;

/**
 * The error function in double precision by W. J. Cody's rational Chebyshev approximations ("Rational
 * Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631–637; the coefficients of
 * SPECFUN's CALERF): erf on |x| ≤ 0.46875, erfc·e^{x²} on 0.46875 < |x| ≤ 4 and, asymptotically, on |x| > 4.
 * Cody's bound is about 1e-16 relative in each interval; the absolute error of this implementation is
 * below 1e-15 (measured: 8.9e-16 against commons-math's {@code Erf.erf} on a dense grid of [-10, 10], see
 * its test), far below the 1e-7 that float32 activations need.
 */
final class Erf {
    private static final double THRESHOLD = 0.46875;
    private static final double ONE_OVER_SQRT_PI = 5.6418958354775628695e-1;
    /** Beyond this |x|, erfc(x) underflows in double: erf is ±1. */
    private static final double BIG = 26.543;

    private static final double[] A = {3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
            3.20937758913846947e03, 1.85777706184603153e-1};
    private static final double[] B = {2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
            2.84423683343917062e03};
    private static final double[] C = {5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
            2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03,
            1.23033935479799725e03, 2.15311535474403846e-8};
    private static final double[] D = {1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
            1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03,
            1.23033935480374942e03};
    private static final double[] P = {3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
            1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2};
    private static final double[] Q = {2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
            6.05183413124413191e-2, 2.33520497626869185e-3};

    private Erf() {
    }

    /** erf(x); NaN for NaN. */
    static double erf(double x) {
        double y = Math.abs(x);
        if (y <= THRESHOLD) {
            double ysq = y * y;
            double num = A[4] * ysq;
            double den = ysq;
            for (int i = 0; i < 3; i++) {
                num = (num + A[i]) * ysq;
                den = (den + B[i]) * ysq;
            }
            return x * (num + A[3]) / (den + B[3]);
        }
        double erfc;
        if (y <= 4.0) {
            double num = C[8] * y;
            double den = y;
            for (int i = 0; i < 7; i++) {
                num = (num + C[i]) * y;
                den = (den + D[i]) * y;
            }
            erfc = expMinusSquare(y) * (num + C[7]) / (den + D[7]);
        } else if (y < BIG) {
            double ysq = 1.0 / (y * y);
            double num = P[5] * ysq;
            double den = ysq;
            for (int i = 0; i < 4; i++) {
                num = (num + P[i]) * ysq;
                den = (den + Q[i]) * ysq;
            }
            double r = ysq * (num + P[4]) / (den + Q[4]);
            erfc = expMinusSquare(y) * (ONE_OVER_SQRT_PI - r) / y;
        } else {
            erfc = y == y ? 0.0 : Double.NaN;
        }
        double magnitude = 1.0 - erfc;
        return x < 0 ? -magnitude : magnitude;
    }

    /**
     * e^{-y²} with one exponential. (Cody splits y² to keep full relative accuracy of erfc far in the tail;
     * here erfc is subtracted from 1, so the rounding of y², at most 16·2⁻⁵³ relative for y ≤ 4, is
     * irrelevant and one {@code exp} instead of two halves the cost of GELU.)
     */
    private static double expMinusSquare(double y) {
        return Math.exp(-y * y);
    }

    /** The exact GELU, {@code x · Φ(x) = x/2 · (1 + erf(x/√2))}, in double. */
    static double gelu(double x) {
        return 0.5 * x * (1.0 + erf(x * 0.70710678118654752440));
    }
}
