package dev.thanosj.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Every kernel of every provider against a straightforward loop written here (the oracle), on sizes that
 * hurt (0, 1, lanes−1, lanes, lanes+1, 2·lanes+1, 207, 1021), at random offsets into larger segments, with
 * values that hurt (±0, subnormals, huge-but-finite, many exact ties). Scores, masks and counts must match
 * exactly; sums within a bound that grows with n; the SPD solves within a conditioning-aware bound of a
 * double-precision solve.
 */
class KernelsPropertyTest {
    static final int LANES = 16;

    static Stream<Named<Kernels>> providers() {
        List<Named<Kernels>> out = new ArrayList<>();
        out.add(Named.of("scalar", KernelsProvider.create("scalar")));
        out.add(Named.of("panama", KernelsProvider.create("panama")));
        return out.stream();
    }

    static int[] sizes(Kernels k) {
        int l = Math.max(k.batchLanes(), 1);
        return IntStream.of(0, 1, l - 1, l, l + 1, 2 * l + 1, 63, 64, 65, 207, 1021).filter(n -> n >= 0).distinct()
                .toArray();
    }

    static Stream<Arguments> cases() {
        return providers().flatMap(p -> Arrays.stream(sizes(p.getPayload())).boxed()
                .flatMap(n -> Stream.of(Metric.values()).map(m -> Arguments.of(p, n, m))));
    }

    /** Values that hurt, mixed with ordinary ones; about a third of them tie with another entry. */
    static float[] hurtful(int n, SplittableRandom random) {
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -3e-39f, Float.MAX_VALUE,
                -Float.MAX_VALUE, 3e38f, 1f, -1f, 0.5f};
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            int pick = random.nextInt(10);
            v[i] = pick < 3 ? special[random.nextInt(special.length)]
                    : pick < 5 && i > 0 ? v[random.nextInt(i)] * (random.nextBoolean() ? 1 : -1)
                    : (float) random.nextGaussian();
        }
        return v;
    }

    static float[] factors(int n, Metric metric, SplittableRandom random) {
        float[] f = new float[n + 3];
        for (int i = 0; i < f.length; i++) {
            f[i] = switch (random.nextInt(6)) {
                case 0 -> 1f;
                case 1 -> metric == Metric.ABS_SCALED ? 0f : 1e-20f;
                case 2 -> 4f;
                default -> (float) (0.1 + random.nextDouble() * 3);
            };
        }
        return f;
    }

    /** The values at a random offset inside a larger native segment. */
    static MemorySegment segment(Arena arena, float[] v, SplittableRandom random) {
        int offset = random.nextInt(5);
        MemorySegment big = arena.allocate((long) (v.length + offset + 3) * Float.BYTES, 4);
        MemorySegment s = big.asSlice((long) offset * Float.BYTES, (long) v.length * Float.BYTES);
        MemorySegment.copy(v, 0, s, JAVA_FLOAT, 0, v.length);
        return s;
    }

    static int bits(Metric metric, float w, float f) {
        float score = metric == Metric.ABS_SCALED ? Math.abs(w) * f : (w * w) / f;
        return Float.floatToRawIntBits(score) & 0x7fffffff;
    }

    @ParameterizedTest(name = "{0} n={1} {2}")
    @MethodSource("cases")
    void scoresCountsAndMasksMatchTheOracle(Kernels kernels, int n, Metric metric) {
        SplittableRandom random = new SplittableRandom(31L * n + metric.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            float[] w = hurtful(n, random);
            float[] f = factors(n, metric, random);
            int off = 3 >= f.length - n ? 0 : random.nextInt(3);
            MemorySegment row = segment(arena, w, random);
            int[] expectedBits = new int[n];
            for (int c = 0; c < n; c++) {
                expectedBits[c] = bits(metric, w[c], f[off + c]);
            }
            int[] bits = new int[n];
            kernels.scoreBits(row, f, off, n, metric, bits);
            assertArrayEquals(expectedBits, bits, "scoreBits");
            if (metric == Metric.ABS_SCALED) {
                float[] out = new float[n];
                kernels.wandaMetric(row, f, off, n, out);
                for (int c = 0; c < n; c++) {
                    assertEquals(Float.floatToRawIntBits(Math.abs(w[c]) * f[off + c]), Float.floatToRawIntBits(out[c]),
                            "wandaMetric at " + c);
                }
            }
            int[] sorted = expectedBits.clone();
            Arrays.sort(sorted);
            for (int trial = 0; trial < 4 && n > 0; trial++) {
                int lo = sorted[random.nextInt(n)];
                int hi = Math.max(lo, sorted[random.nextInt(n)]);
                long below = 0;
                List<Long> keys = new ArrayList<>();
                for (int c = 0; c < n; c++) {
                    if (expectedBits[c] < lo) {
                        below++;
                    } else if (expectedBits[c] <= hi) {
                        keys.add(((long) expectedBits[c] << 32) | (1000 + c));
                    }
                }
                int limit = trial == 3 ? keys.size() / 2 : keys.size() + 2; // also when the buffer overflows
                long[] got = new long[keys.size() + 4];
                long packed = kernels.countAndCollect(row, f, off, n, metric, lo, hi, 1000, got, 1, 1 + limit);
                assertEquals(below, packed >>> 32, "countAndCollect below");
                assertEquals(keys.size(), packed & 0xffffffffL, "countAndCollect in window");
                for (int i = 0; i < Math.min(limit, keys.size()); i++) {
                    assertEquals(keys.get(i), got[1 + i], "countAndCollect key " + i);
                }
                int tieColumns = random.nextInt(n + 1);
                long[] mask = new long[(n + 63) / 64 + 2];
                Arrays.fill(mask, -1L);
                int count = kernels.markSelected(row, f, off, n, metric, lo, tieColumns, mask, 1);
                int expectedCount = 0;
                for (int c = 0; c < n; c++) {
                    boolean sel = expectedBits[c] < lo || (expectedBits[c] == lo && c < tieColumns);
                    expectedCount += sel ? 1 : 0;
                    assertEquals(sel, (mask[1 + (c >>> 6)] & (1L << c)) != 0, "markSelected at " + c);
                }
                assertEquals(expectedCount, count, "markSelected count");
                assertEquals(-1L, mask[0], "markSelected wrote before its words");
            }
            int[] high = new int[1 << 16];
            int[] expectedHigh = new int[1 << 16];
            kernels.histogram(row, f, off, n, metric, -1, high);
            for (int b : expectedBits) {
                expectedHigh[b >>> 16]++;
            }
            assertArrayEquals(expectedHigh, high, "histogram high");
            if (n > 0) {
                int bucket = expectedBits[random.nextInt(n)] >>> 16;
                int[] low = new int[1 << 16];
                int[] expectedLow = new int[1 << 16];
                kernels.histogram(row, f, off, n, metric, bucket, low);
                for (int b : expectedBits) {
                    if (b >>> 16 == bucket) {
                        expectedLow[b & 0xffff]++;
                    }
                }
                assertArrayEquals(expectedLow, low, "histogram low");
            }
            for (int m : new int[] {2, 3, 4, 8, 16}) {
                int nm = n - n % m;
                for (int keep = 1; keep < m; keep += Math.max(1, m / 3)) {
                    long[] mask = new long[(nm + 63) / 64 + 1];
                    kernels.nOfMMask(row, f, off, nm, metric, keep, m, mask, 0);
                    for (int g = 0; g < nm; g += m) {
                        for (int i = 0; i < m; i++) {
                            int rank = 0;
                            for (int j = 0; j < m; j++) {
                                int bj = expectedBits[g + j];
                                int bi = expectedBits[g + i];
                                rank += bj < bi || (bj == bi && j < i) ? 1 : 0;
                            }
                            int c = g + i;
                            assertEquals(rank < keep, (mask[c >>> 6] & (1L << c)) != 0,
                                    "nOfMMask " + keep + ":" + m + " at " + c);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void masksGathersAndReductions(Kernels kernels) {
        for (int n : sizes(kernels)) {
            SplittableRandom random = new SplittableRandom(n);
            try (Arena arena = Arena.ofConfined()) {
                float[] w = hurtful(n, random);
                float[] v = hurtful(n, random);
                for (int i = 0; i < n; i++) { // reductions: keep the products finite
                    w[i] = Math.abs(w[i]) > 1e10f ? 1e10f * Math.signum(w[i]) : w[i];
                    v[i] = Math.abs(v[i]) > 1e10f ? -1e10f * Math.signum(v[i]) : v[i];
                }
                MemorySegment a = segment(arena, w, random);
                MemorySegment b = segment(arena, v, random);
                long[] mask = new long[(n + 63) / 64 + 1];
                for (int i = 0; i < n; i++) {
                    if (random.nextInt(3) == 0) {
                        mask[i >>> 6] |= 1L << i;
                    }
                }
                int[] indices = new int[n + 16];
                float[] values = new float[n + 16];
                int k = kernels.gatherMasked(a, n, mask, 0, indices, values);
                int j = 0;
                for (int i = 0; i < n; i++) {
                    if ((mask[i >>> 6] & (1L << i)) != 0) {
                        assertEquals(i, indices[j], "gather index");
                        assertEquals(Float.floatToRawIntBits(w[i]), Float.floatToRawIntBits(values[j++]), "gather value");
                    }
                }
                assertEquals(j, k, "gather count");
                float[] tight = new float[k]; // arrays without slack take the scalar path
                int[] tightIdx = new int[k];
                assertEquals(k, kernels.gatherMasked(a, n, mask, 0, tightIdx, tight));
                assertArrayEquals(Arrays.copyOf(indices, k), tightIdx);
                MemorySegment copy = segment(arena, w, random);
                kernels.zeroMasked(copy, n, mask, 0);
                for (int i = 0; i < n; i++) {
                    boolean masked = (mask[i >>> 6] & (1L << i)) != 0;
                    assertEquals(masked ? 0 : Float.floatToRawIntBits(w[i]),
                            Float.floatToRawIntBits(copy.getAtIndex(JAVA_FLOAT, i)), "zeroMasked at " + i);
                }
                for (int i = 0; i < k; i++) {
                    values[i] = i + 0.5f;
                }
                kernels.scatter(copy, indices, values, k);
                for (int i = 0; i < k; i++) {
                    assertEquals(i + 0.5f, copy.getAtIndex(JAVA_FLOAT, indices[i]), "scatter");
                }
                int zeros = 0;
                double dot = 0;
                double abs = 0;
                double squares = 0;
                double diff = 0;
                double absDiff = 0;
                for (int i = 0; i < n; i++) {
                    zeros += w[i] == 0f ? 1 : 0;
                    dot += (double) w[i] * v[i];
                    abs += Math.abs((double) w[i] * v[i]);
                    squares += (double) w[i] * w[i];
                    double d = (double) w[i] - v[i];
                    diff += d * d;
                    absDiff += d * d;
                }
                double gamma = (n + 4) * Math.ulp(1f);
                assertEquals(zeros, kernels.countZeros(a, n), "countZeros");
                assertTrue(kernels.allFinite(a, n), "allFinite");
                assertEquals(dot, kernels.dot(a, b, n), gamma * abs + 1e-300, "dot");
                assertEquals(squares, kernels.sumSquares(a, n), gamma * squares + 1e-300, "sumSquares");
                assertEquals(diff, kernels.sumSquaredDifference(a, b, n), 2 * gamma * absDiff + 1e-300,
                        "sumSquaredDifference");
                if (n > 0) {
                    MemorySegment bad = segment(arena, w, random);
                    bad.setAtIndex(JAVA_FLOAT, random.nextInt(n), random.nextBoolean() ? Float.NaN : Float.NEGATIVE_INFINITY);
                    assertTrue(!kernels.allFinite(bad, n), "allFinite with a non-finite value");
                }
                float[] y = new float[n + 5];
                float[] x = new float[n + 5];
                for (int i = 0; i < y.length; i++) {
                    y[i] = (float) random.nextGaussian();
                    x[i] = (float) random.nextGaussian();
                }
                float[] expected = y.clone();
                float alpha = (float) random.nextGaussian();
                kernels.subtractScaled(y, 2, x, 3, alpha, n);
                for (int i = 0; i < y.length; i++) {
                    double want = i >= 2 && i < n + 2 ? expected[i] - (double) alpha * x[i + 1] : expected[i];
                    double bound = i >= 2 && i < n + 2 ? 2 * Math.ulp(1f) * (Math.abs(expected[i])
                            + Math.abs(alpha * x[i + 1])) : 0;
                    assertEquals(want, y[i], bound, "subtractScaled at " + i);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void batchedSpdSolvesMatchADoubleSolve(Kernels kernels) {
        int lanes = kernels.batchLanes();
        int g = 40;
        SplittableRandom random = new SplittableRandom(5);
        double[][] a = new double[g][g];
        for (double[] r : a) {
            for (int j = 0; j < g; j++) {
                r[j] = random.nextGaussian();
            }
        }
        float[] gram = new float[g * g];
        for (int i = 0; i < g; i++) {
            for (int j = 0; j < g; j++) {
                double s = i == j ? 0.5 : 0;
                for (int p = 0; p < g; p++) {
                    s += a[p][i] * a[p][j] / g;
                }
                gram[i * g + j] = (float) s;
            }
        }
        for (int k : new int[] {0, 1, 2, 3, 4, 5, 7, 8, 16, 17, 33, 40}) {
            int[] q = new int[Math.max(1, k) * lanes];
            float[] rhs = new float[Math.max(1, k) * lanes];
            int[] sizes = new int[lanes];
            Arrays.fill(q, -1);
            for (int lane = 0; lane < lanes; lane++) {
                sizes[lane] = lane == 0 ? k : random.nextInt(k + 1); // shorter systems are padded
                int[] chosen = random.ints(0, g).distinct().limit(sizes[lane]).sorted().toArray();
                for (int x = 0; x < sizes[lane]; x++) {
                    q[x * lanes + lane] = chosen[x];
                    rhs[x * lanes + lane] = (float) random.nextGaussian();
                }
            }
            float[] original = rhs.clone();
            assertTrue(kernels.spdSolveBatch(gram, g, q, k, rhs, new float[kernels.spdWorkSize(k)]), "k=" + k);
            for (int lane = 0; lane < lanes; lane++) {
                int kl = sizes[lane];
                double[][] m = new double[kl][kl];
                double[] b = new double[kl];
                for (int x = 0; x < kl; x++) {
                    for (int y = 0; y < kl; y++) {
                        m[x][y] = gram[q[x * lanes + lane] * g + q[y * lanes + lane]];
                    }
                    b[x] = original[x * lanes + lane];
                }
                double[] want = kl == 0 ? new double[0] : new org.apache.commons.math3.linear.CholeskyDecomposition(
                        new org.apache.commons.math3.linear.Array2DRowRealMatrix(m)).getSolver()
                        .solve(new org.apache.commons.math3.linear.ArrayRealVector(b)).toArray();
                double scale = Arrays.stream(want).map(Math::abs).max().orElse(0) + 1e-30;
                for (int x = 0; x < k; x++) {
                    double got = rhs[x * lanes + lane];
                    if (x < kl) {
                        assertEquals(want[x], got, 1e-3 * scale, "k=" + k + " lane " + lane + " x " + x);
                    } else {
                        assertEquals(0.0, got, 0.0, "padding of lane " + lane);
                    }
                }
            }
        }
        float[] indefinite = {1, 2, 2, 1};
        int[] q = new int[2 * lanes];
        for (int lane = 0; lane < lanes; lane++) {
            q[lane] = 0;
            q[lanes + lane] = 1;
        }
        assertTrue(!kernels.spdSolveBatch(indefinite, 2, q, 2, new float[2 * lanes],
                new float[kernels.spdWorkSize(2)]), "an indefinite system is reported");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void reverseMirrorsEveryLengthExactly(Kernels kernels) {
        try (Arena arena = Arena.ofConfined()) {
            for (int n = 0; n <= 70; n++) {
                MemorySegment src = arena.allocate((long) (n + 1) * Float.BYTES, 4);
                MemorySegment dst = arena.allocate((long) (n + 1) * Float.BYTES, 4);
                for (int i = 0; i <= n; i++) {
                    src.setAtIndex(JAVA_FLOAT, i, i + 0.5f);
                    dst.setAtIndex(JAVA_FLOAT, i, Float.NaN);
                }
                kernels.reverse(src, dst, n);
                for (int i = 0; i < n; i++) {
                    assertEquals(n - 1 - i + 0.5f, dst.getAtIndex(JAVA_FLOAT, i), "n=" + n + " at " + i);
                }
                assertTrue(Float.isNaN(dst.getAtIndex(JAVA_FLOAT, n)), "n=" + n + ": nothing written past n");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providers")
    void batchedProductsMatchADoubleProduct(Kernels kernels) {
        int lanes = kernels.batchLanes();
        SplittableRandom random = new SplittableRandom(11);
        for (int n : new int[] {0, 1, 3, 4, 5, 8, 13, 64, 130}) {
            float[] a = new float[n * n];
            float[] x = new float[Math.max(1, n) * lanes];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextGaussian();
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] y = new float[x.length + 1];
            Arrays.fill(y, Float.NaN); // stale values are overwritten; y past n·L untouched
            kernels.multiplyBatch(a, n, x, y);
            for (int i = 0; i < n; i++) {
                for (int lane = 0; lane < lanes; lane++) {
                    double want = 0;
                    double magnitude = 0;
                    for (int j = 0; j < n; j++) {
                        want += (double) a[i * n + j] * x[j * lanes + lane];
                        magnitude += Math.abs((double) a[i * n + j] * x[j * lanes + lane]);
                    }
                    // float sum of n products in any order: |error| <= (n + 1)·u·Σ|a x|
                    assertEquals(want, y[i * lanes + lane], (n + 1) * Math.ulp(1f) * magnitude,
                            "n=" + n + " row " + i + " lane " + lane);
                }
            }
            assertTrue(Float.isNaN(y[n * lanes]), "n=" + n + ": nothing written past n·L");
        }
    }

    @Test
    void theProviderIsPanamaWhenTheVectorApiIsThere() {
        // jvector-style guard: the build runs tests with the Vector API; a silent fallback would hide it
        if (System.getProperty(VectorSupport.PROPERTY) == null) {
            assertEquals("panama", Kernels.get().name(), Kernels.get().description());
        } else {
            assertEquals(System.getProperty(VectorSupport.PROPERTY), Kernels.get().name());
        }
    }
}
