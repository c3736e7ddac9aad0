package dev.thanosj.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.tensor.FloatMatrix;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every {@link LinalgBench} benchmark once, through the same setup JMH uses, and checks its result,
 * so that no benchmark ever times broken code. The checks are randomized (Freivalds): for a random x,
 * {@code C·x} must equal {@code A·(B·x)} and {@code L·(Lᵀ·x)} must equal {@code A·x}, computed in double
 * in O(n²). Tolerance: the classical float error bound of a length-n dot product,
 * {@code γ ≈ n·u} (u = 2⁻²⁴) times the same product with absolute values, doubled; a wrong result is off
 * by the order of that product itself.
 */
class LinalgBenchTest {
    private static final double U = Math.ulp(1f) / 2;

    static Stream<Arguments> cases() {
        return Stream.of("openblas", "java").flatMap(p -> Stream.of(512, 1024, 2048).map(n -> Arguments.of(p, n)));
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("cases")
    void gemmAndPotrfComputeWhatTheyTime(String provider, int n) {
        LinalgBench bench = new LinalgBench();
        bench.provider = provider;
        bench.n = n;
        bench.setUp();
        try {
            FloatMatrix c = bench.gemm();
            double[] x = randomVector(n, new SplittableRandom(7));
            double[] abx = times(bench.a, Part.FULL, times(bench.b, Part.FULL, x));
            double[] bound = timesAbs(bench.a, Part.FULL, timesAbs(bench.b, Part.FULL, abs(x)));
            check("gemm", times(c, Part.FULL, x), abx, bound, n);

            LinalgBench.Factor factor = new LinalgBench.Factor();
            factor.allocate(bench);
            try {
                factor.restore(bench);
                FloatMatrix l = bench.potrf(factor);
                double[] llx = times(l, Part.LOWER, times(l, Part.LOWER_TRANSPOSED, x));
                double[] lbound = timesAbs(l, Part.LOWER, timesAbs(l, Part.LOWER_TRANSPOSED, abs(x)));
                check("potrf", llx, times(bench.spd, Part.FULL, x), lbound, n);
                for (int i = 0; i < n; i++) {
                    assertTrue(l.get(i, i) > 0, "potrf: L[" + i + "," + i + "] = " + l.get(i, i));
                }
            } finally {
                factor.tearDown();
            }
        } finally {
            bench.tearDown();
        }
    }

    private static void check(String what, double[] actual, double[] expected, double[] bound, int n) {
        double gamma = 2 * (n + 2) * U;
        for (int i = 0; i < n; i++) {
            double error = Math.abs(actual[i] - expected[i]);
            double tolerance = gamma * bound[i];
            int row = i;
            assertTrue(error <= tolerance, () -> what + " row " + row + ": " + actual[row] + " vs " + expected[row]
                    + " (error " + error + " > tolerance " + tolerance + ")");
        }
    }

    private static double[] randomVector(int n, SplittableRandom random) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextDouble(-1, 1);
        }
        return x;
    }

    private static double[] abs(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = Math.abs(x[i]);
        }
        return y;
    }

    /** How a square matrix is read: whole, or as its lower triangle L (upper part taken as 0), or Lᵀ. */
    private enum Part { FULL, LOWER, LOWER_TRANSPOSED }

    /** {@code op(M)·x} in double. */
    private static double[] times(FloatMatrix m, Part part, double[] x) {
        return multiply(m, part, x, false);
    }

    /** {@code |op(M)|·x} in double. */
    private static double[] timesAbs(FloatMatrix m, Part part, double[] x) {
        return multiply(m, part, x, true);
    }

    private static double[] multiply(FloatMatrix m, Part part, double[] x, boolean absolute) {
        int n = m.rows();
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < n; j++) {
                double v = switch (part) {
                    case FULL -> m.get(i, j);
                    case LOWER -> j <= i ? m.get(i, j) : 0;
                    case LOWER_TRANSPOSED -> j >= i ? m.get(j, i) : 0;
                };
                sum += (absolute ? Math.abs(v) : v) * x[j];
            }
            y[i] = sum;
        }
        return y;
    }
}
