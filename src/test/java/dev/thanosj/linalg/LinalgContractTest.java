package dev.thanosj.linalg;

import static dev.thanosj.reference.LinalgOracle.abs;
import static dev.thanosj.reference.LinalgOracle.combine;
import static dev.thanosj.reference.LinalgOracle.maxAbs;
import static dev.thanosj.reference.LinalgOracle.multiply;
import static dev.thanosj.reference.LinalgOracle.op;
import static dev.thanosj.reference.LinalgOracle.transpose;
import static dev.thanosj.reference.LinalgOracle.triangle;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.reference.LinalgOracle;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.quicktheories.QuickTheory;
import org.quicktheories.core.Gen;

/**
 * The contract every {@link Linalg} provider meets, checked property by property against the double-precision
 * {@link LinalgOracle} on random inputs, for every provider that loads here ("openblas" is skipped, not
 * failed, when it cannot load; {@code OpenBlasLinalgTest} guards against that on machines that expect it).
 *
 * <p>Shapes that hurt: orders around the vector width and the block sizes (1, 2, 15, 16, 17, 31, 32, 33, 63,
 * 65, 129, 207, and a few past the packing blocks of the Java GEMM), non-square operands, and views with a row
 * stride into a larger allocation whose padding holds a signalling NaN pattern: a read of the padding turns a
 * result into NaN, a write to it is caught by {@link Placed#assertPaddingUntouched}. Matrices live in shared
 * arenas (so multi-threaded paths run) or, now and then, confined ones.
 *
 * <p>Tolerances, with {@code u = 2⁻²⁴} (float32 unit roundoff) and k the inner dimension:
 * <ul>
 *   <li>GEMM, SYRK, TRMM, element-wise: {@code |err| ≤ 2(k+3)·u·(|α|·(|op(A)||op(B)|)ᵢⱼ + |β|·|Cᵢⱼ|)}, the
 *       classical bound γₖ for a dot product of length k, plus the roundings of alpha, beta and the sum.</li>
 *   <li>Solves, factorisations and inverses of the well-conditioned matrices built here (SPD matrices with
 *       eigenvalues in [1, 3], triangles with unit-sized diagonals and off-diagonals below 1/(2n)):
 *       {@code |err| ≤ 64(n+3)·u·max|exact|}, the backward-error bound times a condition number below 8.</li>
 * </ul>
 */
class LinalgContractTest {
    private static final double U = Math.scalb(1.0, -24);
    /** A NaN bit pattern no operation produces, so padding that still holds it was never written. */
    private static final int PADDING_BITS = 0x7fa5_a5a5;
    private static final int[] SIZES = {1, 2, 15, 16, 17, 31, 32, 33, 63, 65, 129, 207};
    private static final int[] SMALL_SIZES = {1, 2, 3, 15, 16, 17, 31, 33, 64, 65};
    private static final float[] SCALARS = {1f, -1f, 0.5f, 2.5f, 0f};

    private static final Linalg JAVA = new JavaLinalg();
    private static final Object OPENBLAS = loadOpenBlas();

    private static Object loadOpenBlas() {
        try {
            return OpenBlasLinalg.load();
        } catch (RuntimeException | LinkageError e) {
            return "OpenBLAS cannot load here: " + e;
        }
    }

    /** A provider, or the reason it is missing; tests skip the missing ones. */
    record Provider(String name, Object instanceOrReason) {
        Linalg get() {
            Assumptions.assumeTrue(instanceOrReason instanceof Linalg, () -> name + ": " + instanceOrReason);
            return (Linalg) instanceOrReason;
        }
    }

    static Stream<Named<Provider>> providers() {
        List<Named<Provider>> list = new ArrayList<>();
        list.add(Named.of("java", new Provider("java", JAVA)));
        list.add(Named.of("openblas", new Provider("openblas", OPENBLAS)));
        return list.stream();
    }

    /** A property run of {@code examples} random cases; shrinking is capped because every case is a matrix job. */
    private static QuickTheory theory(int examples) {
        return QuickTheory.qt().withExamples(examples).withShrinkCycles(40);
    }

    private static Gen<Integer> pick(int[] values) {
        return integers().between(0, values.length - 1).map(i -> values[i]);
    }

    private static Gen<Float> scalar() {
        return integers().between(0, SCALARS.length - 1).map(i -> SCALARS[i]);
    }

    // ---------------------------------------------------------------- GEMM

    @ParameterizedTest
    @MethodSource("providers")
    void gemmMatchesDoublePrecision(Provider provider) {
        Linalg la = provider.get();
        theory(60).forAll(pick(SIZES).zip(pick(SIZES), pick(SIZES), (m, n, k) -> new int[] {m, n, k}),
                        booleans().all().zip(booleans().all(), (a, b) -> new boolean[] {a, b}),
                        scalar().zip(scalar(), (a, b) -> new float[] {a, b}), longs().all())
                .checkAssert((mnk, trans, ab, seed) -> checkGemm(la, mnk[0], mnk[1], mnk[2], trans[0], trans[1], ab[0],
                        ab[1], seed));
    }

    @ParameterizedTest
    @MethodSource("providers")
    void gemmPastThePackingBlocks(Provider provider) {
        Linalg la = provider.get();
        checkGemm(la, 150, 530, 300, false, false, 1f, 0f, 1);
        checkGemm(la, 290, 41, 257, true, true, -0.5f, 1f, 2);
        checkGemm(la, 7, 600, 520, true, false, 2f, -1f, 3);
        checkGemm(la, 530, 33, 129, false, true, 1f, 0.5f, 5);
        checkGemm(la, 200, 200, 200, true, false, 1f, 0.5f, 8);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void gemmWithEmptyInnerDimensionScalesC(Provider provider) {
        Linalg la = provider.get();
        checkGemm(la, 17, 5, 0, false, false, 1f, 2f, 5);
        checkGemm(la, 3, 33, 0, true, true, 1f, 0f, 6);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void gemmGivesTheSameResultOnOneThread(Provider provider) {
        Linalg la = provider.get();
        int saved = la.threads();
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom rnd = new SplittableRandom(7);
            FloatMatrix a = random(arena, rnd, 300, 200);
            FloatMatrix b = random(arena, rnd, 200, 310);
            FloatMatrix c1 = FloatMatrix.allocate(arena, 300, 310);
            FloatMatrix c2 = FloatMatrix.allocate(arena, 300, 310);
            la.setThreads(1);
            la.gemm(false, false, 1f, a, b, 0f, c1);
            la.setThreads(Math.max(2, saved));
            la.gemm(false, false, 1f, a, b, 0f, c2);
            double[][] bound = multiply(abs(toDouble(a)), abs(toDouble(b)), 310);
            // Both results are within 2(k+3)u|A||B| of the exact product, so within twice that of each other.
            assertClose("gemm threads=1 vs threads=" + la.threads(), toDouble(c1), c2, scaled(bound, 4 * (200 + 3) * U));
        } finally {
            la.setThreads(saved);
        }
    }

    static void checkGemm(Linalg la, int m, int n, int k, boolean transA, boolean transB, float alpha,
            float beta, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = arena(seed)) {
            Placed a = Placed.random(arena, rnd, transA ? k : m, transA ? m : k);
            Placed b = Placed.random(arena, rnd, transB ? n : k, transB ? k : n);
            Placed c = beta == 0f ? Placed.nan(arena, rnd, m, n) : Placed.random(arena, rnd, m, n);
            double[][] opA = toDouble(a.view, transA);
            double[][] opB = toDouble(b.view, transB);
            double[][] dc = toDouble(c.view);
            double[][] expected = combine(alpha, multiply(opA, opB, n), beta, dc);
            double[][] bound = combine(Math.abs(alpha), multiply(abs(opA), abs(opB), n), Math.abs(beta), abs(dc));
            la.gemm(transA, transB, alpha, a.view, b.view, beta, c.view);
            String what = "gemm m=" + m + " n=" + n + " k=" + k + " transA=" + transA + " transB=" + transB
                    + " alpha=" + alpha + " beta=" + beta;
            assertClose(what, expected, c.view, scaled(bound, 2 * (k + 3) * U));
            a.assertPaddingUntouched(what);
            b.assertPaddingUntouched(what);
            c.assertPaddingUntouched(what);
        }
    }

    // ---------------------------------------------------------------- SYRK

    @ParameterizedTest
    @MethodSource("providers")
    void syrkMatchesDoublePrecisionInBothTriangles(Provider provider) {
        Linalg la = provider.get();
        theory(40).forAll(pick(SIZES).zip(pick(SIZES), (n, k) -> new int[] {n, k}), booleans().all(),
                        scalar().zip(scalar(), (a, b) -> new float[] {a, b}), longs().all())
                .checkAssert((nk, transA, ab, seed) -> checkSyrk(la, nk[0], nk[1], transA, ab[0], ab[1], true, seed));
    }

    @ParameterizedTest
    @MethodSource("providers")
    void syrkWithAnAsymmetricCIsStillAlphaAAtPlusBetaC(Provider provider) {
        Linalg la = provider.get();
        checkSyrk(la, 33, 17, false, 1f, 0.5f, false, 11);
        checkSyrk(la, 65, 300, true, -1f, 2f, false, 12);
        checkSyrk(la, 300, 40, false, 1f, 1f, true, 13);
    }

    static void checkSyrk(Linalg la, int n, int k, boolean transA, float alpha, float beta, boolean symmetricC,
            long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = arena(seed)) {
            Placed a = Placed.random(arena, rnd, transA ? k : n, transA ? n : k);
            Placed c = beta == 0f ? Placed.nan(arena, rnd, n, n) : Placed.random(arena, rnd, n, n);
            if (beta != 0f && symmetricC) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < i; j++) {
                        c.view.set(j, i, c.view.get(i, j));
                    }
                }
            }
            double[][] opA = toDouble(a.view, transA);
            double[][] dc = toDouble(c.view);
            double[][] expected = combine(alpha, multiply(opA, transpose(opA), n), beta, dc);
            double[][] bound = combine(Math.abs(alpha), multiply(abs(opA), abs(transpose(opA)), n), Math.abs(beta),
                    abs(dc));
            la.syrk(transA, alpha, a.view, beta, c.view);
            String what = "syrk n=" + n + " k=" + k + " transA=" + transA + " alpha=" + alpha + " beta=" + beta;
            assertClose(what, expected, c.view, scaled(bound, 2 * (k + 3) * U));
            a.assertPaddingUntouched(what);
            c.assertPaddingUntouched(what);
        }
    }

    // ---------------------------------------------------------------- POTRF, POTRI

    @ParameterizedTest
    @MethodSource("providers")
    void potrfMatchesCommonsMathAndZeroesTheOtherTriangle(Provider provider) {
        Linalg la = provider.get();
        theory(30).forAll(pick(SIZES), arbitrary().enumValues(Triangle.class), longs().all())
                .checkAssert((n, uplo, seed) -> checkPotrf(la, n, uplo, seed));
    }

    @ParameterizedTest
    @MethodSource("providers")
    void potrfPastTheDiagonalBlocks(Provider provider) {
        Linalg la = provider.get();
        checkPotrf(la, 300, Triangle.LOWER, 21);
        checkPotrf(la, 257, Triangle.UPPER, 22);
    }

    static void checkPotrf(Linalg la, int n, Triangle uplo, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        boolean lower = uplo == Triangle.LOWER;
        try (Arena arena = arena(seed)) {
            double[][] spd = spd(rnd, n);
            Placed a = Placed.nan(arena, rnd, n, n);
            fillTriangle(a.view, spd, lower);
            la.potrf(uplo, a.view);
            double[][] l = LinalgOracle.choleskyLower(spd);
            double[][] expected = lower ? l : transpose(l);
            String what = "potrf n=" + n + " " + uplo;
            assertClose(what, expected, a.view, uniform(n, n, 64 * (n + 3) * U * maxAbs(l)));
            a.assertPaddingUntouched(what);
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void potriGivesTheFullSymmetricInverse(Provider provider) {
        Linalg la = provider.get();
        theory(25).forAll(pick(SIZES), arbitrary().enumValues(Triangle.class), longs().all())
                .checkAssert((n, uplo, seed) -> checkPotri(la, n, uplo, seed));
        checkPotri(la, 300, Triangle.LOWER, 31);
        checkPotri(la, 260, Triangle.UPPER, 32);
    }

    static void checkPotri(Linalg la, int n, Triangle uplo, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        boolean lower = uplo == Triangle.LOWER;
        try (Arena arena = arena(seed)) {
            double[][] l = roundToFloat(LinalgOracle.choleskyLower(spd(rnd, n)));
            Placed f = Placed.nan(arena, rnd, n, n);
            fillTriangle(f.view, lower ? l : transpose(l), lower);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    if (lower ? j > i : j < i) {
                        f.view.set(i, j, 0f);
                    }
                }
            }
            double[][] expected = LinalgOracle.inverse(multiply(l, transpose(l), n));
            la.potri(uplo, f.view);
            String what = "potri n=" + n + " " + uplo;
            assertClose(what, expected, f.view, uniform(n, n, 64 * (n + 3) * U * maxAbs(expected)));
            f.assertPaddingUntouched(what);
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void potrfNamesTheFirstLeadingMinorThatIsNotPositive(Provider provider) {
        Linalg la = provider.get();
        theory(20).forAll(pick(SIZES), integers().between(0, 1000), arbitrary().enumValues(Triangle.class),
                        arbitrary().pick(List.of(-1f, 0f, -1e-3f)))
                .checkAssert((n, at, uplo, pivot) -> checkNotPositiveDefinite(la, n, at % n, uplo, pivot));
    }

    @ParameterizedTest
    @MethodSource("providers")
    void potrfTreatsANaNPivotAsNotPositive(Provider provider) {
        Linalg la = provider.get();
        theory(10).forAll(pick(SIZES), integers().between(0, 1000), arbitrary().enumValues(Triangle.class))
                .checkAssert((n, at, uplo) -> checkNotPositiveDefinite(la, n, at % n, uplo, Float.NaN));
    }

    /** Sets entry (p, p) of an SPD matrix to {@code pivot}: minors 1..p stay positive, minor p+1 does not. */
    static void checkNotPositiveDefinite(Linalg la, int n, int p, Triangle uplo, float pivot) {
        SplittableRandom rnd = new SplittableRandom(n * 31L + p);
        try (Arena arena = Arena.ofShared()) {
            double[][] spd = spd(rnd, n);
            // The (p+1)-th pivot becomes pivot - |l_p|², which is below 0 (or NaN).
            spd[p][p] = pivot;
            FloatMatrix a = FloatMatrix.allocate(arena, n, n);
            fillTriangle(a, spd, uplo == Triangle.LOWER);
            NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class, () -> la.potrf(uplo, a),
                    () -> "n=" + n + " p=" + p + " pivot=" + pivot + " " + uplo);
            assertEquals(p + 1, e.leadingMinor(), () -> "n=" + n + " pivot=" + pivot + ": " + e);
        }
    }

    // ---------------------------------------------------------------- TRSM, TRMM

    @ParameterizedTest
    @MethodSource("providers")
    void trsmSolvesInEveryOrientation(Provider provider) {
        Linalg la = provider.get();
        theory(60).forAll(pick(SIZES).zip(pick(SIZES), (m, n) -> new int[] {m, n}),
                        integers().between(0, 7), scalar(), longs().all())
                .checkAssert((mn, variant, alpha, seed) -> checkTriangular(la, true, mn[0], mn[1], variant, alpha, seed));
        checkTriangular(la, true, 300, 70, 0, 1f, 41);
        checkTriangular(la, true, 70, 300, 7, -2f, 42);
        // Large enough for the diagonal blocks to split over threads (columns on the left, rows on the right).
        checkTriangular(la, true, 130, 600, 2, 1f, 45);
        checkTriangular(la, true, 600, 130, 5, 1f, 46);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void trmmMultipliesInEveryOrientation(Provider provider) {
        Linalg la = provider.get();
        theory(60).forAll(pick(SIZES).zip(pick(SIZES), (m, n) -> new int[] {m, n}),
                        integers().between(0, 7), scalar(), longs().all())
                .checkAssert((mn, variant, alpha, seed) -> checkTriangular(la, false, mn[0], mn[1], variant, alpha, seed));
        checkTriangular(la, false, 300, 70, 3, 1f, 43);
        checkTriangular(la, false, 70, 300, 4, 0.5f, 47);
        checkTriangular(la, false, 130, 600, 6, 1f, 49);
        checkTriangular(la, false, 600, 130, 1, 1f, 50);
    }

    /** variant bits: 1 = RIGHT, 2 = UPPER, 4 = transposed. The other triangle of A holds NaN. */
    static void checkTriangular(Linalg la, boolean solve, int m, int n, int variant, float alpha, long seed) {
        Side side = (variant & 1) != 0 ? Side.RIGHT : Side.LEFT;
        Triangle uplo = (variant & 2) != 0 ? Triangle.UPPER : Triangle.LOWER;
        boolean transA = (variant & 4) != 0;
        boolean lower = uplo == Triangle.LOWER;
        int k = side == Side.LEFT ? m : n;
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = arena(seed)) {
            double[][] t = new double[k][k];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    if (i == j) {
                        t[i][j] = (float) (1 + rnd.nextDouble());
                    } else if (lower ? j < i : j > i) {
                        t[i][j] = (float) ((rnd.nextDouble() * 2 - 1) / (2.0 * k));
                    }
                }
            }
            Placed a = Placed.nan(arena, rnd, k, k);
            fillTriangle(a.view, t, lower);
            Placed b = Placed.random(arena, rnd, m, n);
            double[][] db = toDouble(b.view);
            double[][] opT = op(t, transA);
            double[][] expected;
            double[][] tolerance;
            if (solve) {
                double[][] x = side == Side.LEFT ? LinalgOracle.solve(opT, db)
                        : transpose(LinalgOracle.solve(transpose(opT), transpose(db)));
                expected = combine(alpha, x, 0, null);
                tolerance = uniform(m, n, 64 * (k + 3) * U * Math.max(maxAbs(expected), Math.abs(alpha) * maxAbs(db)));
            } else {
                expected = combine(alpha, side == Side.LEFT ? multiply(opT, db, n) : multiply(db, opT, k), 0, null);
                double[][] bound = side == Side.LEFT ? multiply(abs(opT), abs(db), n) : multiply(abs(db), abs(opT), k);
                tolerance = scaled(bound, Math.abs(alpha) * 2 * (k + 3) * U);
            }
            if (solve) {
                la.trsm(side, uplo, transA, alpha, a.view, b.view);
            } else {
                la.trmm(side, uplo, transA, alpha, a.view, b.view);
            }
            String what = (solve ? "trsm " : "trmm ") + side + " " + uplo + (transA ? " transposed" : "") + " m=" + m
                    + " n=" + n + " alpha=" + alpha;
            assertClose(what, expected, b.view, tolerance);
            a.assertPaddingUntouched(what);
            b.assertPaddingUntouched(what);
        }
    }

    // ---------------------------------------------------------------- POSV

    @ParameterizedTest
    @MethodSource("providers")
    void posvSolvesSmallSpdSystems(Provider provider) {
        Linalg la = provider.get();
        theory(40).forAll(pick(SMALL_SIZES), integers().between(1, 20), longs().all())
                .checkAssert((k, nrhs, seed) -> checkPosv(la, k, nrhs, seed));
        checkPosv(la, 256, 1, 51);
        checkPosv(la, 200, 33, 52);
    }

    static void checkPosv(Linalg la, int k, int nrhs, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = arena(seed)) {
            double[][] spd = spd(rnd, k);
            Placed a = Placed.nan(arena, rnd, k, k);
            fillTriangle(a.view, spd, true);
            fillTriangle(a.view, spd, false);
            Placed b = Placed.random(arena, rnd, k, nrhs);
            double[][] expected = LinalgOracle.solve(spd, toDouble(b.view));
            la.posv(a.view, b.view);
            String what = "posv k=" + k + " nrhs=" + nrhs;
            assertClose(what, expected, b.view, uniform(k, nrhs, 64 * (k + 3) * U * maxAbs(expected)));
            double[][] l = LinalgOracle.choleskyLower(spd);
            double factorTolerance = 64 * (k + 3) * U * maxAbs(l);
            FloatMatrix factor = a.view;
            for (int i = 0; i < k; i++) {
                for (int j = 0; j <= i; j++) {
                    double err = Math.abs(factor.get(i, j) - l[i][j]);
                    if (!(err <= factorTolerance)) {
                        fail(what + ": factor (" + i + ", " + j + ") is " + factor.get(i, j) + ", expected " + l[i][j]);
                    }
                }
            }
            a.assertPaddingUntouched(what);
            b.assertPaddingUntouched(what);
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void posvIsSafeFromManyThreadsAtOnce(Provider provider) {
        Linalg la = provider.get();
        int count = 64;
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom rnd = new SplittableRandom(61);
            List<FloatMatrix> as = new ArrayList<>();
            List<FloatMatrix> bs = new ArrayList<>();
            List<double[][]> expected = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int k = 1 + rnd.nextInt(48);
                double[][] spd = spd(rnd, k);
                FloatMatrix a = FloatMatrix.allocate(arena, k, k);
                fillTriangle(a, spd, true);
                fillTriangle(a, spd, false);
                FloatMatrix b = random(arena, rnd, k, 1 + rnd.nextInt(3));
                expected.add(LinalgOracle.solve(spd, toDouble(b)));
                as.add(a);
                bs.add(b);
            }
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                int first = t;
                threads[t] = new Thread(() -> {
                    for (int i = first; i < count; i += threads.length) {
                        la.posv(as.get(i), bs.get(i));
                    }
                });
                threads[t].start();
            }
            for (Thread thread : threads) {
                thread.join();
            }
            for (int i = 0; i < count; i++) {
                int k = as.get(i).rows();
                assertClose("posv #" + i + " on 4 threads", expected.get(i), bs.get(i),
                        uniform(k, bs.get(i).cols(), 64 * (k + 3) * U * maxAbs(expected.get(i))));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(e);
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void posvBatchSolvesEveryPairOnTheWorkerPool(Provider provider) {
        Linalg la = provider.get();
        int saved = la.threads();
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom rnd = new SplittableRandom(62);
            List<FloatMatrix> as = new ArrayList<>();
            List<FloatMatrix> bs = new ArrayList<>();
            List<double[][]> expected = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int k = 1 + rnd.nextInt(40);
                double[][] spd = spd(rnd, k);
                FloatMatrix a = FloatMatrix.allocate(arena, k, k);
                fillTriangle(a, spd, true);
                fillTriangle(a, spd, false);
                FloatMatrix b = random(arena, rnd, k, 1 + rnd.nextInt(2));
                expected.add(LinalgOracle.solve(spd, toDouble(b)));
                as.add(a);
                bs.add(b);
            }
            la.posvBatch(as, bs);
            assertEquals(saved, la.threads(), "posvBatch restores the provider's threads");
            for (int i = 0; i < as.size(); i++) {
                int k = as.get(i).rows();
                assertClose("posvBatch #" + i, expected.get(i), bs.get(i),
                        uniform(k, bs.get(i).cols(), 64 * (k + 3) * U * maxAbs(expected.get(i))));
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> la.posvBatch(as, bs.subList(0, 3)));
            assertTrue(e.getMessage().contains("posvBatch"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void emptyMatricesAreNoOps(Provider provider) {
        Linalg la = provider.get();
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a05 = FloatMatrix.allocate(arena, 0, 5);
            FloatMatrix a50 = FloatMatrix.allocate(arena, 5, 0);
            FloatMatrix a00 = FloatMatrix.allocate(arena, 0, 0);
            FloatMatrix a55 = FloatMatrix.allocate(arena, 5, 5);
            a55.fill(3f);
            la.gemm(false, false, 1f, a05, a55, 0f, a05);
            la.gemm(false, false, 1f, a55, a50, 0f, a50);
            la.gemm(true, false, 2f, a05, a05, 0.5f, a55);
            assertEquals(1.5f, a55.get(4, 4), "k = 0: C = beta C");
            la.syrk(false, 1f, a00, 0f, a00);
            la.syrk(true, 1f, a05, 2f, a55);
            assertEquals(3f, a55.get(0, 4), "k = 0: C = beta C");
            la.potrf(Triangle.LOWER, a00);
            la.potri(Triangle.UPPER, a00);
            la.trsm(Side.LEFT, Triangle.LOWER, false, 1f, a55, a50);
            la.trmm(Side.RIGHT, Triangle.UPPER, true, 1f, a00, a50);
            la.posv(a00, FloatMatrix.allocate(arena, 0, 3));
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void posvRejectsAMatrixThatIsNotPositiveDefinite(Provider provider) {
        Linalg la = provider.get();
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a = FloatMatrix.allocate(arena, 3, 3);
            a.set(0, 0, 4f);
            a.set(1, 1, 1f);
            a.set(2, 2, 2f);
            a.set(1, 2, 3f);
            a.set(2, 1, 3f);
            FloatMatrix b = FloatMatrix.allocate(arena, 3, 1);
            NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class, () -> la.posv(a, b));
            assertEquals(3, e.leadingMinor());
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void heapBackedMatricesWorkToo(Provider provider) {
        Linalg la = provider.get();
        SplittableRandom rnd = new SplittableRandom(71);
        FloatMatrix a = heap(rnd, 70, 33, 35);
        FloatMatrix b = heap(rnd, 33, 40, 40);
        FloatMatrix c = heap(rnd, 70, 40, 41);
        double[][] bound = multiply(abs(toDouble(a)), abs(toDouble(b)), 40);
        double[][] expected = multiply(toDouble(a), toDouble(b), 40);
        la.gemm(false, false, 1f, a, b, 0f, c);
        assertClose("gemm on heap", expected, c, scaled(bound, 2 * (33 + 3) * U));

        double[][] spd = spd(rnd, 40);
        FloatMatrix p = heap(rnd, 40, 40, 43);
        fillTriangle(p, spd, true);
        fillTriangle(p, spd, false);
        FloatMatrix x = heap(rnd, 40, 2, 3);
        double[][] solution = LinalgOracle.solve(spd, toDouble(x));
        la.posv(p, x);
        assertClose("posv on heap", solution, x, uniform(40, 2, 64 * 43 * U * maxAbs(solution)));
        double[][] l = LinalgOracle.choleskyLower(spd);
        fillTriangle(p, spd, true);
        la.potrf(Triangle.LOWER, p);
        assertClose("potrf on heap", l, p, uniform(40, 40, 64 * 43 * U * maxAbs(l)));
    }

    /** A random rows x cols matrix over a {@code float[]} with the given row stride. */
    private static FloatMatrix heap(SplittableRandom rnd, int rows, int cols, int rowStride) {
        FloatMatrix m = FloatMatrix.wrap(MemorySegment.ofArray(new float[rows * rowStride]), rows, cols, rowStride);
        fillRandom(m, rnd);
        return m;
    }

    // ---------------------------------------------------------------- bad input

    @ParameterizedTest
    @MethodSource("providers")
    void mismatchedShapesAreRejectedNamingTheOperation(Provider provider) {
        Linalg la = provider.get();
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a23 = FloatMatrix.allocate(arena, 2, 3);
            FloatMatrix a33 = FloatMatrix.allocate(arena, 3, 3);
            FloatMatrix a22 = FloatMatrix.allocate(arena, 2, 2);
            FloatMatrix a44 = FloatMatrix.allocate(arena, 4, 4);
            expectShapeError("gemm", () -> la.gemm(false, false, 1f, a23, a23, 0f, a22));
            expectShapeError("gemm", () -> la.gemm(false, true, 1f, a23, a23, 0f, a33));
            expectShapeError("syrk", () -> la.syrk(false, 1f, a23, 0f, a33));
            expectShapeError("potrf", () -> la.potrf(Triangle.LOWER, a23));
            expectShapeError("potri", () -> la.potri(Triangle.UPPER, a23));
            expectShapeError("trsm", () -> la.trsm(Side.LEFT, Triangle.LOWER, false, 1f, a33, a22));
            expectShapeError("trsm", () -> la.trsm(Side.RIGHT, Triangle.LOWER, false, 1f, a22, a23));
            expectShapeError("trmm", () -> la.trmm(Side.RIGHT, Triangle.UPPER, true, 1f, a44, a23));
            expectShapeError("trmm", () -> la.trmm(Side.LEFT, Triangle.UPPER, true, 1f, a23, a23));
            expectShapeError("posv", () -> la.posv(a33, a23));
            expectShapeError("posv", () -> la.posv(a23, a23));
        }
    }

    private static void expectShapeError(String op, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run, op);
        assertTrue(e.getMessage() != null && e.getMessage().contains(op), () -> "message should name " + op + ": "
                + e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("providers")
    void aClosedArenaIsAnIllegalStateNotACrash(Provider provider) {
        Linalg la = provider.get();
        Arena arena = Arena.ofConfined();
        FloatMatrix a = FloatMatrix.allocate(arena, 40, 40);
        FloatMatrix b = FloatMatrix.allocate(arena, 40, 3);
        FloatMatrix c = FloatMatrix.allocate(arena, 40, 40);
        arena.close();
        assertThrows(IllegalStateException.class, () -> la.gemm(false, false, 1f, a, a, 0f, c));
        assertThrows(IllegalStateException.class, () -> la.syrk(true, 1f, a, 0f, c));
        assertThrows(IllegalStateException.class, () -> la.potrf(Triangle.LOWER, a));
        assertThrows(IllegalStateException.class, () -> la.potri(Triangle.UPPER, a));
        assertThrows(IllegalStateException.class, () -> la.trsm(Side.LEFT, Triangle.LOWER, false, 1f, a, b));
        assertThrows(IllegalStateException.class, () -> la.trmm(Side.LEFT, Triangle.UPPER, true, 1f, a, b));
        assertThrows(IllegalStateException.class, () -> la.posv(a, b));
    }

    @ParameterizedTest
    @MethodSource("providers")
    void threadsMustBePositive(Provider provider) {
        Linalg la = provider.get();
        assertThrows(IllegalArgumentException.class, () -> la.setThreads(0));
        assertTrue(la.threads() >= 1);
        assertTrue(la.description().contains("threads="), la.description());
    }

    // ---------------------------------------------------------------- helpers

    /**
     * A shared arena (multi-threaded paths run), or a confined one for every seed divisible by 4 (the calling
     * thread does all the work).
     */
    private static Arena arena(long seed) {
        return Math.floorMod(seed, 4) == 0 ? Arena.ofConfined() : Arena.ofShared();
    }

    /**
     * A matrix that is either a whole allocation or a view at a random offset into a larger one whose other
     * elements hold the padding NaN.
     */
    private record Placed(FloatMatrix parent, FloatMatrix view, int r0, int c0) {
        static Placed nan(Arena arena, SplittableRandom rnd, int rows, int cols) {
            boolean strided = rnd.nextBoolean();
            int extraRows = strided ? rnd.nextInt(3) : 0;
            int extraCols = strided ? 1 + rnd.nextInt(19) : 0;
            FloatMatrix parent = FloatMatrix.allocate(arena, rows + extraRows, cols + extraCols);
            parent.fill(Float.intBitsToFloat(PADDING_BITS));
            int r0 = extraRows == 0 ? 0 : rnd.nextInt(extraRows + 1);
            int c0 = extraCols == 0 ? 0 : rnd.nextInt(extraCols + 1);
            return new Placed(parent, parent.view(r0, c0, rows, cols), r0, c0);
        }

        static Placed random(Arena arena, SplittableRandom rnd, int rows, int cols) {
            Placed p = nan(arena, rnd, rows, cols);
            fillRandom(p.view, rnd);
            return p;
        }

        void assertPaddingUntouched(String what) {
            for (int i = 0; i < parent.rows(); i++) {
                for (int j = 0; j < parent.cols(); j++) {
                    boolean inside = i >= r0 && i < r0 + view.rows() && j >= c0 && j < c0 + view.cols();
                    if (!inside && Float.floatToRawIntBits(parent.get(i, j)) != PADDING_BITS) {
                        fail(what + ": wrote outside its view at (" + (i - r0) + ", " + (j - c0) + ")");
                    }
                }
            }
        }
    }

    private static FloatMatrix random(Arena arena, SplittableRandom rnd, int rows, int cols) {
        FloatMatrix m = FloatMatrix.allocate(arena, rows, cols);
        fillRandom(m, rnd);
        return m;
    }

    private static void fillRandom(FloatMatrix m, SplittableRandom rnd) {
        for (int i = 0; i < m.rows(); i++) {
            for (int j = 0; j < m.cols(); j++) {
                m.set(i, j, (float) (rnd.nextDouble() * 2 - 1));
            }
        }
    }

    /** A symmetric positive definite matrix with float32 entries and eigenvalues in about [1, 3]: GGᵀ/(3n) + I. */
    private static double[][] spd(SplittableRandom rnd, int n) {
        double[][] g = new double[n][n];
        for (double[] row : g) {
            for (int j = 0; j < n; j++) {
                row[j] = rnd.nextDouble() * 2 - 1;
            }
        }
        double[][] a = multiply(g, transpose(g), n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                float v = (float) (a[i][j] / (3.0 * n) + (i == j ? 1 : 0));
                a[i][j] = v;
                a[j][i] = v;
            }
        }
        return a;
    }

    /** Writes the lower (or upper) triangle of {@code values}, diagonal included, into m. */
    private static void fillTriangle(FloatMatrix m, double[][] values, boolean lower) {
        for (int i = 0; i < m.rows(); i++) {
            for (int j = 0; j < m.cols(); j++) {
                if (lower ? j <= i : j >= i) {
                    m.set(i, j, (float) values[i][j]);
                }
            }
        }
    }

    private static double[][] roundToFloat(double[][] a) {
        double[][] r = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            r[i] = new double[a[i].length];
            for (int j = 0; j < a[i].length; j++) {
                r[i][j] = (float) a[i][j];
            }
        }
        return r;
    }

    private static double[][] toDouble(FloatMatrix m) {
        return toDouble(m, false);
    }

    /** {@code m} or its transpose as doubles (the shape is right even when one dimension is 0). */
    private static double[][] toDouble(FloatMatrix m, boolean trans) {
        double[][] d = trans ? new double[m.cols()][m.rows()] : new double[m.rows()][m.cols()];
        for (int i = 0; i < m.rows(); i++) {
            for (int j = 0; j < m.cols(); j++) {
                if (trans) {
                    d[j][i] = m.get(i, j);
                } else {
                    d[i][j] = m.get(i, j);
                }
            }
        }
        return d;
    }

    private static double[][] scaled(double[][] bound, double factor) {
        return combine(factor, bound, 0, null);
    }

    private static double[][] uniform(int rows, int cols, double value) {
        double[][] t = new double[rows][cols];
        for (double[] row : t) {
            Arrays.fill(row, value);
        }
        return t;
    }

    /** Fails at the first element where {@code |actual - expected| > tolerance} (NaN always fails). */
    private static void assertClose(String what, double[][] expected, FloatMatrix actual, double[][] tolerance) {
        assertEquals(expected.length, actual.rows(), what + ": rows");
        for (int i = 0; i < actual.rows(); i++) {
            for (int j = 0; j < actual.cols(); j++) {
                double err = Math.abs(actual.get(i, j) - expected[i][j]);
                if (!(err <= tolerance[i][j])) {
                    fail(what + ": element (" + i + ", " + j + ") is " + actual.get(i, j) + ", expected "
                            + expected[i][j] + " ± " + tolerance[i][j]);
                }
            }
        }
    }
}
