package dev.thanosj.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.commons.math3.special.Erf;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every activation of every provider against double-precision oracles written here (commons-math's erf and
 * erfc, {@link Math#exp}, straight double loops for softmax and LayerNorm): dense grids over the whole range
 * including the tails, sizes that hurt (0, 1, 15, 16, 17, 33, 1021: tails before, at and after one and two
 * 512-bit vectors), random offsets into larger segments, special values (±0, ±∞, NaN, subnormals, huge
 * finite). The scalar functions run without FMA, the Vector API ones with FMA where the CPU has it (these
 * machines do), so both evaluations of every polynomial are covered.
 */
class ActivationsTest {
    /** The documented bound of erf (FloatMath). */
    static final double ERF_BOUND = 1e-7;

    static Stream<Named<Activations>> providers() {
        return Stream.of(Named.of("scalar", ActivationsProvider.create("scalar")),
                Named.of("panama", ActivationsProvider.create("panama")));
    }

    static final int[] SIZES = {0, 1, 15, 16, 17, 33, 1021};

    static Stream<Arguments> cases() {
        return providers().flatMap(p -> IntStream.of(SIZES).mapToObj(n -> Arguments.of(p, n)));
    }

    static final float[] SPECIAL = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -3e-39f, 1e-30f, Float.MAX_VALUE, -Float.MAX_VALUE, 3e38f,
            -1e30f, 1e5f, -1e5f, 1f, -1f, 4f, -4f, 1.4142135f, -1.4142135f, 5.656854f, -5.656854f, 0.5f, 26f, -26f};

    /** Ordinary values (σ = 3) with about a fifth special ones. */
    static float[] values(int n, SplittableRandom random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextInt(5) == 0 ? SPECIAL[random.nextInt(SPECIAL.length)] : (float) (random.nextGaussian() * 3);
        }
        return v;
    }

    /** {@code v} at a random float offset inside a larger native segment. */
    static MemorySegment segment(Arena arena, float[] v, SplittableRandom random) {
        int offset = random.nextInt(5);
        MemorySegment big = arena.allocate((long) (v.length + offset + 3) * Float.BYTES, 4);
        MemorySegment s = big.asSlice((long) offset * Float.BYTES, (long) v.length * Float.BYTES);
        MemorySegment.copy(v, 0, s, JAVA_FLOAT, 0, v.length);
        return s;
    }

    static float[] apply(Activations a, float[] v, BiConsumer<MemorySegment, Integer> op, SplittableRandom random) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = segment(arena, v, random);
            op.accept(s, v.length);
            return s.toArray(JAVA_FLOAT);
        }
    }

    /** Φ(x)·x from erfc, accurate in both tails. */
    static double gelu(double x) {
        if (Double.isNaN(x)) {
            return Double.NaN;
        }
        if (x == Double.NEGATIVE_INFINITY) {
            return -0.0;
        }
        if (x == Double.POSITIVE_INFINITY) {
            return x;
        }
        return x * 0.5 * Erf.erfc(-x / Math.sqrt(2));
    }

    /** Allowed |gelu error|: the documented 1e-7, and 2e-7·|x| for large positive x (rounding of x itself). */
    static double geluBound(double x) {
        return 1e-7 * Math.max(1, 2 * x);
    }

    /** Whether {@code actual} is {@code expected} rounded within {@code ulps} ulps (NaN = NaN, ∞ = ∞). */
    static boolean withinUlps(double expected, float actual, double ulps) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            return Double.isNaN(expected) && Double.isNaN(actual);
        }
        float rounded = (float) expected;
        if (Float.isInfinite(rounded) || Float.isInfinite(actual)) {
            return rounded == actual;
        }
        return Math.abs(actual - expected) <= ulps * Math.ulp(rounded);
    }

    // ---- dense grids ----

    /** Every float of [−8, 8] on a fine grid, plus the tails out to ±30 and the huge values. */
    static float[] erfGrid() {
        List<Float> grid = new ArrayList<>();
        for (int i = -1_000_000; i <= 1_000_000; i++) {
            grid.add((float) (i * 8e-6 * 1.000_37));
        }
        for (float x = 8f; x < 30f; x += 0.01f) {
            grid.add(x);
            grid.add(-x);
        }
        for (float x : new float[] {1f, 4f, 0.99999994f, 1.0000001f, 3.9999998f, 4.0000005f}) {
            grid.add(x);
            grid.add(-x);
        }
        float[] out = new float[grid.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = grid.get(i);
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void erfIsWithinItsBoundOnADenseGrid(Activations a) {
        float[] x = erfGrid();
        float[] y = apply(a, x, a::erf, new SplittableRandom(1));
        double worst = 0;
        float at = 0;
        for (int i = 0; i < x.length; i++) {
            double err = Math.abs(y[i] - Erf.erf(x[i]));
            if (err > worst) {
                worst = err;
                at = x[i];
            }
        }
        System.out.printf("%s erf: max |error| %.3g at x = %s over %d points of [-30, 30]%n", a.name(), worst, at, x.length);
        assertTrue(worst <= ERF_BOUND, a.name() + " erf error " + worst + " at " + at);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void geluIsWithinItsBoundOnADenseGrid(Activations a) {
        float[] z = erfGrid();
        float[] x = new float[z.length];
        for (int i = 0; i < z.length; i++) {
            x[i] = z[i] * 1.4142135f; // the same grid for x/√2
        }
        float[] y = apply(a, x, a::gelu, new SplittableRandom(2));
        double worstRatio = 0;
        double worstSmall = 0;
        double worstRelative = 0;
        float at = 0;
        for (int i = 0; i < x.length; i++) {
            double err = Math.abs(y[i] - gelu(x[i]));
            if (x[i] <= 0.5f) {
                worstSmall = Math.max(worstSmall, err);
            } else {
                worstRelative = Math.max(worstRelative, err / x[i]);
            }
            if (err / geluBound(x[i]) > worstRatio) {
                worstRatio = err / geluBound(x[i]);
                at = x[i];
            }
        }
        System.out.printf("%s gelu: max |error| %.3g for x <= 0.5, max |error|/x %.3g above; max error / bound %.3g at x = %s%n",
                a.name(), worstSmall, worstRelative, worstRatio, at);
        assertTrue(worstRatio <= 1, a.name() + " gelu error / bound " + worstRatio + " at " + at);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void expIsWithinOneUlpOnADenseGrid(Activations a) {
        int n = 4_000_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -104f + i * (194f / (n - 1)); // [−104, 90]: underflow to overflow
        }
        float[] y = apply(a, x, a::exp, new SplittableRandom(3));
        double worstUlps = 0;
        float at = 0;
        for (int i = 0; i < n; i++) {
            double expected = Math.exp(x[i]);
            if (expected < Float.MIN_NORMAL) {
                assertTrue(Math.abs(y[i] - expected) <= Float.MIN_VALUE, a.name() + " exp subnormal at " + x[i]);
                continue;
            }
            if (expected >= Float.MAX_VALUE) {
                assertTrue(y[i] >= Float.MAX_VALUE, a.name() + " exp overflow at " + x[i]);
                continue;
            }
            double ulps = Math.abs(y[i] - expected) / Math.ulp((float) expected);
            if (ulps > worstUlps) {
                worstUlps = ulps;
                at = x[i];
            }
        }
        System.out.printf("%s exp: max error %.3g ulp at x = %s%n", a.name(), worstUlps, at);
        assertTrue(worstUlps <= 1, a.name() + " exp error " + worstUlps + " ulp at " + at);
    }

    // ---- sizes, offsets, special values ----

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("cases")
    void elementwiseKernelsOnEverySizeAndSpecialValue(Activations a, int n) {
        SplittableRandom random = new SplittableRandom(17L * n);
        Activations scalar = ActivationsProvider.create("scalar");
        for (int trial = 0; trial < 3; trial++) {
            float[] x = values(n, random);
            check(a, "erf", x, apply(a, x, a::erf, random), apply(scalar, x, scalar::erf, random), Erf::erf,
                    (v, e) -> ERF_BOUND);
            check(a, "gelu", x, apply(a, x, a::gelu, random), apply(scalar, x, scalar::gelu, random), ActivationsTest::gelu,
                    (v, e) -> geluBound(v));
            check(a, "exp", x, apply(a, x, a::exp, random), apply(scalar, x, scalar::exp, random), Math::exp,
                    (v, e) -> e < Float.MIN_NORMAL ? Float.MIN_VALUE : Math.ulp((float) e));
        }
    }

    interface Bound {
        double of(double x, double expected);
    }

    /** Each result within its bound of the oracle, and Panama within twice the bound of scalar; NaN ⇔ NaN. */
    static void check(Activations a, String what, float[] x, float[] actual, float[] scalar, DoubleUnaryOperator oracle, Bound bound) {
        for (int i = 0; i < x.length; i++) {
            double expected = Float.isNaN(x[i]) ? Double.NaN : oracle.applyAsDouble(x[i]);
            String where = a.name() + " " + what + "(" + x[i] + ") at " + i + " of " + x.length + ": " + actual[i] + " vs " + expected;
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(actual[i]) && Float.isNaN(scalar[i]), where);
                continue;
            }
            if (Double.isInfinite(expected) || Float.isInfinite((float) expected)) {
                assertEquals((float) expected, actual[i], where);
                assertEquals((float) expected, scalar[i], where);
                continue;
            }
            double b = bound.of(x[i], expected);
            assertTrue(Math.abs(actual[i] - expected) <= b, where);
            assertTrue(Math.abs(actual[i] - scalar[i]) <= 2 * b, where + " (scalar " + scalar[i] + ")");
            if (x[i] == 0 && !what.equals("exp")) {
                assertEquals(Math.copySign(1f, x[i]), Math.copySign(1f, actual[i]), where + ": sign of zero");
            }
        }
    }

    @Test
    void specialValuesExactly() {
        for (Activations a : providers().map(Named::getPayload).toList()) {
            float[] x = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e30f, -1e30f,
                    Float.MAX_VALUE, -Float.MAX_VALUE, 5f, -5f, 6f, -6f, 0f, 0f, 0f, 0f};
            float[] erf = apply(a, x, a::erf, new SplittableRandom(4));
            float[] gelu = apply(a, x, a::gelu, new SplittableRandom(4));
            float[] exp = apply(a, x, a::exp, new SplittableRandom(4));
            String n = a.name();
            assertEquals(0f, erf[0], n);
            assertEquals(-0f, erf[1], n);
            assertEquals(1f, erf[2], n);
            assertEquals(-1f, erf[3], n);
            assertTrue(Float.isNaN(erf[4]), n);
            assertEquals(1f, erf[5], n);
            assertEquals(-1f, erf[8], n);
            assertEquals(1f, erf[9], n);
            assertEquals(-1f, erf[10], n);
            assertEquals(0f, gelu[0], n);
            assertEquals(-0f, gelu[1], n);
            assertEquals(Float.POSITIVE_INFINITY, gelu[2], n);
            assertEquals(-0f, gelu[3], n + ": gelu(-inf) is the limit -0");
            assertTrue(Float.isNaN(gelu[4]), n);
            assertEquals(1e30f, gelu[5], n);
            assertEquals(-0f, gelu[6], n);
            assertEquals(Float.MAX_VALUE, gelu[7], n);
            assertEquals(-0f, gelu[8], n);
            assertEquals(6f, gelu[11], n);
            assertEquals(1f, exp[0], n);
            assertEquals(1f, exp[1], n);
            assertEquals(Float.POSITIVE_INFINITY, exp[2], n);
            assertEquals(0f, exp[3], n);
            assertTrue(Float.isNaN(exp[4]), n);
            assertEquals(Float.POSITIVE_INFINITY, exp[5], n);
            assertEquals(0f, exp[6], n);
        }
    }

    // ---- softmax ----

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("cases")
    void softmaxMatchesTheDoubleOracle(Activations a, int n) {
        SplittableRandom random = new SplittableRandom(23L * n);
        for (int trial = 0; trial < 4; trial++) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = switch (trial) {
                    case 0 -> (float) (random.nextGaussian() * 4); // attention-like scores
                    case 1 -> (float) (random.nextGaussian() * 40 + 1e4); // large offset: only the max subtraction saves it
                    case 2 -> random.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : (float) random.nextGaussian(); // masked
                    default -> random.nextInt(3) - 1f; // many ties
                };
            }
            if (trial == 2 && n > 0) {
                x[random.nextInt(n)] = 0.5f; // at least one finite entry
            }
            float[] y = apply(a, x, a::softmax, random);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : x) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : x) {
                sum += Math.exp(v - max);
            }
            double total = 0;
            for (int i = 0; i < n; i++) {
                double expected = Math.exp(x[i] - max) / sum;
                // relative: the rounding of x − max (|x − max| ulps of 1), a few ulps from exp and the scaling,
                // and the float summation of up to n/16 terms per lane
                double reduced = x[i] == Float.NEGATIVE_INFINITY ? 0 : max - x[i];
                double tol = expected * (reduced + 4 + n / 8.0) * 0x1p-24 + 1e-30;
                assertEquals(expected, y[i], tol, a.name() + " softmax n=" + n + " trial " + trial + " at " + i);
                total += y[i];
            }
            if (n > 0) {
                assertEquals(1.0, total, 1e-5, a.name() + " softmax sums to 1");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void softmaxSpecialRows(Activations a) {
        float[] huge = apply(a, new float[] {1e30f, -1e30f, 3e38f, 0f, 3e38f}, a::softmax, new SplittableRandom(5));
        assertEquals(List.of(0f, 0f, 0.5f, 0f, 0.5f), boxed(huge), a.name());
        float[] one = apply(a, new float[] {-7.5f}, a::softmax, new SplittableRandom(5));
        assertEquals(1f, one[0], a.name());
        float[] withNaN = apply(a, new float[] {1f, Float.NaN, 2f}, a::softmax, new SplittableRandom(5));
        assertTrue(Float.isNaN(withNaN[0]) && Float.isNaN(withNaN[2]), a.name() + " NaN spreads");
        float[] empty = apply(a, new float[0], a::softmax, new SplittableRandom(5));
        assertEquals(0, empty.length);
    }

    private static List<Float> boxed(float[] v) {
        List<Float> out = new ArrayList<>();
        for (float f : v) {
            out.add(f);
        }
        return out;
    }

    // ---- LayerNorm ----

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("cases")
    void layerNormMatchesTheDoubleOracle(Activations a, int n) {
        SplittableRandom random = new SplittableRandom(29L * n);
        for (int trial = 0; trial < 4; trial++) {
            boolean withResidual = trial % 2 == 1;
            double offset = trial >= 2 ? 50 : 0; // a large mean: the variance must still be centred
            float[] x = new float[n];
            float[] res = new float[n];
            float[] gamma = new float[n];
            float[] beta = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (random.nextGaussian() * 2 + offset);
                res[i] = (float) random.nextGaussian();
                gamma[i] = (float) (0.5 + random.nextDouble());
                beta[i] = (float) random.nextGaussian() * 0.1f;
            }
            if (n > 3) {
                x[random.nextInt(n)] = (float) (offset + 30); // an outlier, as BERT's hidden states have
            }
            float eps = 1e-12f;
            float[] y;
            float[] v = x.clone();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment row = segment(arena, x, random);
                MemorySegment residual = segment(arena, res, random);
                a.layerNorm(row, withResidual ? residual : null, segment(arena, gamma, random), segment(arena, beta, random), eps, n);
                y = row.toArray(JAVA_FLOAT);
                assertEquals(boxed(res), boxed(residual.toArray(JAVA_FLOAT)), "the residual is left alone");
            }
            if (withResidual) {
                for (int i = 0; i < n; i++) {
                    v[i] = x[i] + res[i]; // the sum is rounded to float, as the kernel stores it
                }
            }
            double mean = 0;
            for (float f : v) {
                mean += f;
            }
            mean /= Math.max(n, 1);
            double var = 0;
            for (float f : v) {
                var += (f - mean) * (f - mean);
            }
            var /= Math.max(n, 1);
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < n; i++) {
                double normalized = (v[i] - mean) * inv;
                double expected = normalized * gamma[i] + beta[i];
                // float rounding of the row (relative to its mean, amplified by 1/σ) and of the result
                double tol = 1e-6 * (Math.abs(normalized) * gamma[i] + Math.abs(beta[i]) + 1) + 4e-7 * Math.abs(mean) * inv;
                assertEquals(expected, y[i], tol, a.name() + " layerNorm n=" + n + " trial " + trial + " at " + i);
            }
        }
    }

    @Test
    void theProcessUsesTheVectorApiWhereItCan() {
        boolean expectPanama = VectorSupport.status().usePanama();
        assertEquals(expectPanama ? "panama" : "scalar", Activations.get().name(),
                "the activations follow the kernels' ladder: " + VectorSupport.status().describe());
    }
}
