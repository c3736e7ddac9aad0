package dev.thanosj.linalg;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * OpenBLAS-specific tests: loading, the cache folder, the large-stack executor, errors, and each operation
 * against a double-precision oracle (commons-math3 or straight loops). The generic contract every provider
 * meets is {@code LinalgContractTest}.
 *
 * <p>Tolerances are worst-case float32 rounding bounds scaled by the inner dimension, with
 * {@code u = 2⁻²⁴}: products {@code 2(k+3)·u·(|α|·|A||B| + |β||C|)} element-wise; factorisations, inverses and
 * solves of the well-conditioned matrices built here (condition number at most 3) {@code 64(n+3)·u} times the
 * largest element of the exact result.
 */
class OpenBlasLinalgTest {
    private static final double U = Math.scalb(1.0, -24);

    private static Linalg blas;

    @BeforeAll
    static void load() {
        try {
            blas = OpenBlasLinalg.load();
        } catch (LinalgUnavailableException e) {
            if (Boolean.getBoolean("thanosj.expect.openblas")) {
                fail("OpenBLAS was expected but cannot load: " + e.getMessage(), e);
            }
            abort("OpenBLAS is not available here: " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- loading, provider, cache

    @Test
    void loadsAndDescribesItself() {
        assertEquals("openblas", blas.name());
        String description = blas.description();
        assertTrue(description.matches("OpenBLAS \\d+\\.\\d+\\.\\d+ \\((bundled|system): \\S+\\) config=.* idle-spin=2\\^\\d+ cycles threads=\\d+"),
                description);
        assertTrue(blas.threads() >= 1);
    }

    @Test
    void idleThreadsSleepAtOnceUnlessTheUserSaidOtherwise() {
        String expected = System.getenv().getOrDefault("OPENBLAS_THREAD_TIMEOUT", OpenBlasLibrary.THREAD_TIMEOUT);
        assertTrue(blas.description().contains(" idle-spin=2^" + expected + " cycles "), blas.description());
    }

    @Test
    void setThreadsChangesTheLibraryThreadCount() {
        int saved = blas.threads();
        try {
            blas.setThreads(1);
            assertEquals(1, blas.threads());
            assertTrue(blas.description().endsWith(" threads=1"), blas.description());
            blas.setThreads(2);
            assertEquals(2, blas.threads());
            assertThrows(IllegalArgumentException.class, () -> blas.setThreads(0));
        } finally {
            blas.setThreads(saved);
        }
    }

    @Test
    void buildThatExpectsOpenBlasGetsIt() {
        assumeTrue(Boolean.getBoolean("thanosj.expect.openblas"), "thanosj.expect.openblas is not set");
        assertEquals("openblas", LinalgProvider.get().name(),
                "expected OpenBLAS, got the fallback because: " + LinalgProvider.fallbackReason());
        assertNull(LinalgProvider.fallbackReason());
    }

    @Test
    void bundledLibraryIsExtractedOnceIntoAVersionedCacheFolder() throws IOException {
        Path folder = bundledFolder();
        assertTrue(folder.getFileName().toString().matches("openblas-\\d+\\.\\d+\\.\\d+-[\\w.-]+-"
                + OpenBlasLibrary.platform()), folder.toString());
        for (String library : List.of("libopenblas.so.0", "libgfortran.so.5", "libquadmath.so.0", "libgcc_s.so.1")) {
            assertTrue(Files.size(folder.resolve(library)) > 0, library);
        }
        try (Stream<Path> siblings = Files.list(folder.getParent())) {
            assertEquals(List.of(), siblings.map(p -> p.getFileName().toString())
                    .filter(name -> name.contains(".part-")).toList(), "half-extracted leftovers");
        }
    }

    /**
     * Three fresh JVMs start at once against an empty cache that holds a damaged copy and a crashed run's
     * leftover: all load, and one complete folder remains.
     */
    @Test
    void concurrentFirstRunsShareOneCompleteExtraction(@TempDir Path cache) throws Exception {
        String name = bundledFolder().getFileName().toString();
        Path root = cache.resolve("thanosj");
        Files.createDirectories(root.resolve(name));
        Files.writeString(root.resolve(name).resolve("libopenblas.so.0"), "truncated");
        Files.createDirectories(root.resolve(name + ".part-12345"));

        List<Process> processes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            processes.add(startFreshJvm(List.of(), cache.toString()));
        }
        for (Process process : processes) {
            String output = finish(process);
            assertTrue(output.contains("(bundled: " + root.resolve(name).resolve("libopenblas.so.0") + ")"), output);
        }
        try (Stream<Path> entries = Files.list(root)) {
            assertEquals(List.of(name, name + ".lock"),
                    entries.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals(Files.size(bundledFolder().resolve("libopenblas.so.0")),
                Files.size(root.resolve(name).resolve("libopenblas.so.0")));
    }

    /** With no usable home folder, the cache goes to a per-user folder in {@code java.io.tmpdir}. */
    @Test
    void unusableHomeFallsBackToTheTempFolder(@TempDir Path dir) throws Exception {
        String name = bundledFolder().getFileName().toString();
        Path homeIsAFile = Files.writeString(dir.resolve("home"), "not a folder");
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        String output = finish(startFreshJvm(List.of("-Duser.home=" + homeIsAFile, "-Djava.io.tmpdir=" + tmp), null));
        String user = System.getProperty("user.name").replaceAll("[^A-Za-z0-9._-]", "_");
        Path expected = tmp.resolve("thanosj-" + user).resolve(name).resolve("libopenblas.so.0");
        assertTrue(output.contains("(bundled: " + expected + ")"), output);
    }

    /** A JVM running {@link FreshCacheMain}; {@code xdgCacheHome} null removes that variable. */
    private static Process startFreshJvm(List<String> jvmOptions, String xdgCacheHome) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FreshCacheMain.class.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        if (xdgCacheHome == null) {
            builder.environment().remove("XDG_CACHE_HOME");
        } else {
            builder.environment().put("XDG_CACHE_HOME", xdgCacheHome);
        }
        return builder.start();
    }

    /** Waits for {@code process}, checks that it succeeded and returns its output. */
    private static String finish(Process process) throws IOException, InterruptedException {
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        assertEquals(0, process.exitValue(), output);
        return output;
    }

    /** Entry point of the child JVMs: prints the description of a freshly loaded provider. */
    public static final class FreshCacheMain {
        /** Loads OpenBLAS, which may modify the cache folder, and prints its description. */
        public static void main(String[] args) {
            System.out.println(OpenBlasLinalg.load().description());
        }
    }

    private static Path bundledFolder() {
        String description = blas.description();
        String marker = "(bundled: ";
        int start = description.indexOf(marker);
        assumeTrue(start >= 0, "not the bundled library: " + description);
        int end = description.indexOf(") config=", start);
        return Path.of(description.substring(start + marker.length(), end)).getParent();
    }

    // ---------------------------------------------------------------- native stack

    /**
     * Regression test for the native-stack crash: from a thread with a 256 KB stack, Cholesky and its
     * inverse at order 1024 plus large GEMM and SYRK complete with correct results. Before LAPACK calls
     * moved to the large-stack executor, a stack-hungry routine here killed the JVM (SIGSEGV, exit 139).
     */
    @Test
    void lapackAndBlas3CompleteFromASmallStackThread() throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread small = new Thread(null, () -> {
            try {
                heavyCalls();
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "small-stack", 256L << 10);
        small.start();
        small.join(TimeUnit.MINUTES.toMillis(5));
        assertFalse(small.isAlive(), "timed out");
        if (failure.get() != null) {
            fail(failure.get());
        }
    }

    private static void heavyCalls() {
        int n = 1024;
        double rho = 0.5;
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a = kacMurdockSzego(arena, n, rho);
            blas.potrf(Triangle.LOWER, a);
            blas.potri(Triangle.LOWER, a);
            // The inverse of the Kac-Murdock-Szegő matrix is tridiagonal with known entries.
            double scale = 1 / (1 - rho * rho);
            double tol = 64 * (n + 3) * U * scale * (1 + rho * rho);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double expected = i == j ? scale * ((i == 0 || i == n - 1) ? 1 : 1 + rho * rho)
                            : Math.abs(i - j) == 1 ? -rho * scale : 0;
                    assertClose(expected, a.get(i, j), tol, "KMS inverse", i, j);
                }
            }

            SplittableRandom random = new SplittableRandom(7);
            FloatMatrix x = random(arena, n, 768, random);
            FloatMatrix y = random(arena, 768, n, random);
            FloatMatrix product = FloatMatrix.allocate(arena, n, n);
            blas.gemm(false, false, 1f, x, y, 0f, product);
            FloatMatrix gram = FloatMatrix.allocate(arena, n, n);
            blas.syrk(false, 1f, x, 0f, gram);
            for (int sample = 0; sample < 200; sample++) {
                int i = random.nextInt(n);
                int j = random.nextInt(n);
                double dot = 0;
                double abs = 0;
                double gramDot = 0;
                double gramAbs = 0;
                for (int l = 0; l < 768; l++) {
                    dot += (double) x.get(i, l) * y.get(l, j);
                    abs += Math.abs((double) x.get(i, l) * y.get(l, j));
                    gramDot += (double) x.get(i, l) * x.get(j, l);
                    gramAbs += Math.abs((double) x.get(i, l) * x.get(j, l));
                }
                assertClose(dot, product.get(i, j), 2 * (768 + 3) * U * abs, "gemm", i, j);
                assertClose(gramDot, gram.get(i, j), 2 * (768 + 3) * U * gramAbs, "syrk", i, j);
                assertEquals(gram.get(i, j), gram.get(j, i), "syrk symmetry");
            }
        }
    }

    @Test
    void largeStackExecutorRunsOnADeepStackAndKeepsTheInterrupt() {
        assertEquals(1, LargeStackExecutor.run(() -> LargeStackExecutor.onLargeStack() ? 1 : 0));
        // 200k Java frames need far more than the 2 MB of a test thread; the pool's 64 MB hold them.
        assertEquals(200_000, LargeStackExecutor.run(() -> depth(200_000)));

        int n = 200;
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a = kacMurdockSzego(arena, n, 0.5);
            Thread.currentThread().interrupt();
            blas.potrf(Triangle.LOWER, a);
            assertTrue(Thread.interrupted(), "the caller's interrupt status is kept");
            assertEquals(1.0, a.get(0, 0), 1e-6);
            assertEquals(0.5, a.get(1, 0), 1e-6);
        }
    }

    private static int depth(int n) {
        return n == 0 ? 0 : 1 + depth(n - 1);
    }

    // ---------------------------------------------------------------- errors

    /** Leading minors 2, 3, -5: the third is the first that is not positive; the rest is the identity. */
    @ParameterizedTest
    @ValueSource(ints = {5, 100, 300})
    void notPositiveDefiniteNamesTheFirstBadLeadingMinor(int n) {
        try (Arena arena = Arena.ofConfined()) {
            for (Triangle uplo : Triangle.values()) {
                NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class,
                        () -> blas.potrf(uplo, thirdMinorNegative(arena, n)));
                assertEquals(3, e.leadingMinor(), uplo.name());
                assertTrue(e.getMessage().contains("order " + n), e.getMessage());
            }
            FloatMatrix b = FloatMatrix.allocate(arena, n, 2);
            NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class,
                    () -> blas.posv(thirdMinorNegative(arena, n), b));
            assertEquals(3, e.leadingMinor());
        }
    }

    /** A NaN on the diagonal is a pivot that is not positive, as in reference LAPACK (OpenBLAS lets it through). */
    @ParameterizedTest
    @ValueSource(ints = {5, 100, 300})
    void nanPivotIsNotPositiveDefinite(int n) {
        try (Arena arena = Arena.ofConfined()) {
            for (Triangle uplo : Triangle.values()) {
                FloatMatrix a = kacMurdockSzego(arena, n, 0.5);
                a.set(3, 3, Float.NaN);
                NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class,
                        () -> blas.potrf(uplo, a));
                assertEquals(4, e.leadingMinor(), uplo.name());
            }
            FloatMatrix a = kacMurdockSzego(arena, n, 0.5);
            a.set(3, 1, Float.NaN);
            a.set(1, 3, Float.NaN);
            NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class,
                    () -> blas.posv(a, FloatMatrix.allocate(arena, n, 1)));
            assertEquals(4, e.leadingMinor(), "a NaN below the diagonal reaches pivot 4 first");
        }
    }

    private static FloatMatrix thirdMinorNegative(Arena arena, int n) {
        FloatMatrix a = FloatMatrix.allocate(arena, n, n);
        float[][] top = {{2, 1, 1}, {1, 2, 1}, {1, 1, -1}};
        for (int i = 0; i < n; i++) {
            a.set(i, i, 1);
        }
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                a.set(i, j, top[i][j]);
            }
        }
        return a;
    }

    /** Memory of a closed arena is refused with IllegalStateException before any native code touches it. */
    @ParameterizedTest
    @ValueSource(ints = {8, 100, 300})
    void closedArenaIsRefused(int n) {
        for (Arena arena : List.of(Arena.ofConfined(), Arena.ofShared())) {
            FloatMatrix a = kacMurdockSzego(arena, n, 0.5);
            FloatMatrix b = FloatMatrix.allocate(arena, n, 3);
            arena.close();
            assertThrows(IllegalStateException.class, () -> blas.potrf(Triangle.LOWER, a));
            assertThrows(IllegalStateException.class, () -> blas.potri(Triangle.UPPER, a));
            assertThrows(IllegalStateException.class, () -> blas.posv(a, b));
            assertThrows(IllegalStateException.class, () -> blas.gemm(false, true, 1f, a, a, 0f, a));
            assertThrows(IllegalStateException.class, () -> blas.syrk(false, 1f, a, 0f, a));
            assertThrows(IllegalStateException.class, () -> blas.trsm(Side.LEFT, Triangle.LOWER, false, 1f, a, b));
            assertThrows(IllegalStateException.class, () -> blas.trmm(Side.RIGHT, Triangle.UPPER, true, 1f, a, a));
        }
    }

    /** Memory confined to another thread is refused, also when the call would run on the executor. */
    @ParameterizedTest
    @ValueSource(ints = {8, 100})
    void memoryOfAnotherThreadIsRefused(int n) throws Exception {
        ExecutorService ownerThread = Executors.newSingleThreadExecutor();
        try {
            Arena arena = ownerThread.submit(Arena::ofConfined).get();
            FloatMatrix a = ownerThread.submit(() -> kacMurdockSzego(arena, n, 0.5)).get();
            assertThrows(WrongThreadException.class, () -> blas.potrf(Triangle.LOWER, a));
            assertThrows(WrongThreadException.class, () -> blas.potri(Triangle.LOWER, a));
            ownerThread.submit(arena::close).get();
        } finally {
            ownerThread.shutdown();
        }
    }

    /**
     * Matrices over {@code float[]} (heap segments, which native code cannot address) go through off-heap
     * copies and give the same results as off-heap ones, for a call on the caller and one on the executor.
     */
    @ParameterizedTest
    @ValueSource(ints = {5, OpenBlasLinalg.POSV_LARGE_STACK_ORDER + 3})
    void heapBackedMatricesGiveTheSameResults(int n) {
        try (Arena arena = Arena.ofConfined()) {
            Framed a = Framed.spd(arena, n, 0, new SplittableRandom(n));
            FloatMatrix b = random(arena, n, 2, new SplittableRandom(n + 1));
            FloatMatrix heapA = onHeap(a.view);
            FloatMatrix heapB = onHeap(b);
            FloatMatrix product = FloatMatrix.allocate(arena, n, 2);
            FloatMatrix heapProduct = onHeap(product);

            blas.gemm(false, false, 1f, a.view, b, 0f, product);
            blas.gemm(false, false, 1f, heapA, heapB, 0f, heapProduct);
            assertSameElements(product, heapProduct);
            blas.syrk(true, 1f, heapB, 0f, heapProduct.view(0, 0, 2, 2));
            blas.syrk(true, 1f, b, 0f, product.view(0, 0, 2, 2));
            assertSameElements(product, heapProduct);
            blas.posv(a.view, b);
            blas.posv(heapA, heapB);
            assertSameElements(a.view, heapA);
            assertSameElements(b, heapB);
            blas.trmm(Side.LEFT, Triangle.LOWER, true, 2f, a.view, b);
            blas.trmm(Side.LEFT, Triangle.LOWER, true, 2f, heapA, heapB);
            assertSameElements(b, heapB);
            blas.potri(Triangle.LOWER, a.view);
            blas.potri(Triangle.LOWER, heapA);
            assertSameElements(a.view, heapA);
        }
    }

    private static FloatMatrix onHeap(FloatMatrix m) {
        FloatMatrix heap = FloatMatrix.wrap(MemorySegment.ofArray(new float[m.rows() * m.cols()]), m.rows(),
                m.cols(), m.cols());
        heap.copyFrom(m);
        return heap;
    }

    private static void assertSameElements(FloatMatrix expected, FloatMatrix actual) {
        for (int i = 0; i < expected.rows(); i++) {
            for (int j = 0; j < expected.cols(); j++) {
                assertEquals(expected.get(i, j), actual.get(i, j), "element " + i + "," + j);
            }
        }
    }

    // ---------------------------------------------------------------- correctness against double precision

    static Stream<Arguments> gemmCases() {
        List<Arguments> cases = new ArrayList<>();
        int[][] shapes = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {130, 129, 64}, {4, 0, 6}};
        for (int[] shape : shapes) {
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean transB : new boolean[] {false, true}) {
                    cases.add(Arguments.of(transA, transB, shape[0], shape[1], shape[2]));
                }
            }
        }
        return cases.stream();
    }

    /** Padded, offset views (NaN outside) check that the leading dimension is the row stride. */
    @ParameterizedTest(name = "transA={0} transB={1} m={2} k={3} n={4}")
    @MethodSource("gemmCases")
    void gemmMatchesDoublePrecision(boolean transA, boolean transB, int m, int k, int n) {
        SplittableRandom random = new SplittableRandom(m * 31L + k * 7L + n);
        float alpha = 0.75f;
        float beta = -1.25f;
        try (Arena arena = Arena.ofConfined()) {
            Framed a = Framed.random(arena, transA ? k : m, transA ? m : k, 3, random);
            Framed b = Framed.random(arena, transB ? n : k, transB ? k : n, 1, random);
            Framed c = Framed.random(arena, m, n, 2, random);
            double[][] c0 = toDouble(c.view);
            blas.gemm(transA, transB, alpha, a.view, b.view, beta, c.view);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    double abs = 0;
                    for (int l = 0; l < k; l++) {
                        double term = (double) (transA ? a.view.get(l, i) : a.view.get(i, l))
                                * (transB ? b.view.get(j, l) : b.view.get(l, j));
                        sum += term;
                        abs += Math.abs(term);
                    }
                    double tol = 2 * (k + 3) * U * (Math.abs(alpha) * abs + Math.abs(beta * c0[i][j]));
                    assertClose(alpha * sum + beta * c0[i][j], c.view.get(i, j), tol, "gemm", i, j);
                }
            }
            a.assertFrameUntouched();
            b.assertFrameUntouched();
            c.assertFrameUntouched();
        }
    }

    /** beta 0 ignores C; beta ≠ 0 with a symmetric C takes the SYRK path, with a non-symmetric C the GEMM path. */
    @ParameterizedTest(name = "transA={0} beta={1} symmetricC={2}")
    @MethodSource("syrkCases")
    void syrkMatchesDoublePrecisionInBothTriangles(boolean transA, float beta, boolean symmetricC) {
        int n = 70;
        int k = 45;
        float alpha = 1.5f;
        SplittableRandom random = new SplittableRandom(11);
        try (Arena arena = Arena.ofConfined()) {
            Framed a = Framed.random(arena, transA ? k : n, transA ? n : k, 2, random);
            Framed c = Framed.random(arena, n, n, 1, random);
            if (symmetricC) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < i; j++) {
                        c.view.set(j, i, c.view.get(i, j));
                    }
                }
            }
            double[][] c0 = toDouble(c.view);
            blas.syrk(transA, alpha, a.view, beta, c.view);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    double abs = 0;
                    for (int l = 0; l < k; l++) {
                        double term = transA ? (double) a.view.get(l, i) * a.view.get(l, j)
                                : (double) a.view.get(i, l) * a.view.get(j, l);
                        sum += term;
                        abs += Math.abs(term);
                    }
                    double c0ij = beta == 0 ? 0 : beta * c0[i][j];
                    double tol = 2 * (k + 3) * U * (alpha * abs + Math.abs(c0ij));
                    assertClose(alpha * sum + c0ij, c.view.get(i, j), tol, "syrk", i, j);
                }
            }
            a.assertFrameUntouched();
            c.assertFrameUntouched();
        }
    }

    /** As in BLAS, beta 0 means C is not read: NaN there does not reach the result. */
    @Test
    void betaZeroIgnoresNaNInC() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a = FloatMatrix.allocate(arena, 70, 40);
            a.fill(0.5f);
            FloatMatrix c = FloatMatrix.allocate(arena, 70, 70);
            c.fill(Float.NaN);
            blas.gemm(false, true, 1f, a, a, 0f, c);
            assertEquals(10f, c.get(69, 0));
            c.fill(Float.NaN);
            blas.syrk(false, 1f, a, 0f, c);
            assertEquals(10f, c.get(0, 69));
            assertEquals(10f, c.get(69, 0));
        }
    }

    static Stream<Arguments> syrkCases() {
        return Stream.of(Arguments.of(false, 0f, false), Arguments.of(true, 0f, false),
                Arguments.of(true, 0.5f, true), Arguments.of(false, 0.5f, true),
                Arguments.of(true, 0.5f, false), Arguments.of(false, -2f, false));
    }

    static Stream<Arguments> orders() {
        List<Arguments> cases = new ArrayList<>();
        for (Triangle uplo : Triangle.values()) {
            for (int n : new int[] {1, 7, 63, 64, 65, 200}) {
                cases.add(Arguments.of(uplo, n));
            }
        }
        return cases.stream();
    }

    /** The factor matches commons-math3's, and the other triangle is zero. */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("orders")
    void potrfMatchesCommonsMath(Triangle uplo, int n) {
        try (Arena arena = Arena.ofConfined()) {
            Framed a = Framed.spd(arena, n, 3, new SplittableRandom(n));
            RealMatrix lower = new CholeskyDecomposition(new Array2DRowRealMatrix(toDouble(a.view))).getL();
            blas.potrf(uplo, a.view);
            double tol = 64 * (n + 3) * U * maxAbs(lower.getData());
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    boolean inFactor = uplo == Triangle.LOWER ? j <= i : i <= j;
                    double expected = uplo == Triangle.LOWER ? lower.getEntry(i, j) : lower.getEntry(j, i);
                    if (inFactor) {
                        assertClose(expected, a.view.get(i, j), tol, "potrf " + uplo, i, j);
                    } else {
                        assertEquals(0f, a.view.get(i, j), "other triangle at " + i + "," + j);
                    }
                }
            }
            a.assertFrameUntouched();
        }
    }

    /** The full symmetric inverse, both triangles, matches commons-math3's. */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("orders")
    void potriMatchesCommonsMathInverse(Triangle uplo, int n) {
        try (Arena arena = Arena.ofConfined()) {
            Framed a = Framed.spd(arena, n, 2, new SplittableRandom(100 + n));
            double[][] inverse = new CholeskyDecomposition(new Array2DRowRealMatrix(toDouble(a.view)))
                    .getSolver().getInverse().getData();
            blas.potrf(uplo, a.view);
            blas.potri(uplo, a.view);
            double tol = 64 * (n + 3) * U * maxAbs(inverse);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    assertClose(inverse[i][j], a.view.get(i, j), tol, "potri " + uplo, i, j);
                    assertEquals(a.view.get(i, j), a.view.get(j, i), "symmetry at " + i + "," + j);
                }
            }
            a.assertFrameUntouched();
        }
    }

    static Stream<Arguments> triangularCases() {
        List<Arguments> cases = new ArrayList<>();
        for (Side side : Side.values()) {
            for (Triangle uplo : Triangle.values()) {
                for (boolean transA : new boolean[] {false, true}) {
                    cases.add(Arguments.of(side, uplo, transA));
                }
            }
        }
        return cases.stream();
    }

    /**
     * TRSM and TRMM against straight loops; the triangle of A that must not be read holds NaN. A has a
     * diagonal in [1, 2] and off-diagonal entries below 1/n, so its inverse stays small.
     */
    @ParameterizedTest(name = "{0} {1} transA={2}")
    @MethodSource("triangularCases")
    void trsmAndTrmmMatchDoublePrecision(Side side, Triangle uplo, boolean transA) {
        int m = 37;
        int n = 66;
        int order = side == Side.LEFT ? m : n;
        float alpha = -0.5f;
        SplittableRandom random = new SplittableRandom(side.ordinal() * 4 + uplo.ordinal() * 2 + (transA ? 1 : 0));
        try (Arena arena = Arena.ofConfined()) {
            Framed a = Framed.random(arena, order, order, 1, random);
            double[][] op = new double[order][order];
            for (int i = 0; i < order; i++) {
                for (int j = 0; j < order; j++) {
                    boolean stored = uplo == Triangle.LOWER ? j <= i : i <= j;
                    float value = i == j ? 1 + (float) random.nextDouble() : (float) (random.nextDouble(-1, 1) / order);
                    a.view.set(i, j, stored ? value : Float.NaN);
                    if (stored) {
                        op[transA ? j : i][transA ? i : j] = value;
                    }
                }
            }
            Framed b = Framed.random(arena, m, n, 2, random);
            double[][] b0 = toDouble(b.view);

            blas.trmm(side, uplo, transA, alpha, a.view, b.view);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    double abs = 0;
                    for (int l = 0; l < order; l++) {
                        double term = side == Side.LEFT ? op[i][l] * b0[l][j] : b0[i][l] * op[l][j];
                        sum += term;
                        abs += Math.abs(term);
                    }
                    assertClose(alpha * sum, b.view.get(i, j), 2 * (order + 3) * U * Math.abs(alpha) * abs, "trmm",
                            i, j);
                }
            }

            // Solve back: trsm with 1/alpha must return the original B.
            blas.trsm(side, uplo, transA, 1 / alpha, a.view, b.view);
            double tol = 64 * (order + 3) * U * maxAbs(b0);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    assertClose(b0[i][j], b.view.get(i, j), tol, "trsm", i, j);
                }
            }
            a.assertFrameUntouched();
            b.assertFrameUntouched();
        }
    }

    /**
     * Random orders across the executor threshold, right-hand-side counts 0 to 3 and row strides with
     * padding (a k x 1 B with stride 4 is a column of a wider matrix): X matches commons-math3's solve,
     * and A holds its lower Cholesky factor with a zero upper triangle.
     */
    @Test
    void posvMatchesCommonsMath() {
        qt().withExamples(60).withFixedSeed(2024).forAll(integers().between(1, 130), integers().between(0, 3),
                integers().between(0, 3)).checkAssert((k, nrhs, pad) -> {
                    try (Arena arena = Arena.ofConfined()) {
                        SplittableRandom random = new SplittableRandom(k * 16L + nrhs * 4L + pad);
                        Framed a = Framed.spd(arena, k, pad, random);
                        Framed b = Framed.random(arena, k, nrhs, pad, random);
                        CholeskyDecomposition oracle = new CholeskyDecomposition(
                                new Array2DRowRealMatrix(toDouble(a.view)));
                        blas.posv(a.view, b.view);
                        checkSolution(oracle, a.view, b, nrhs);
                    }
                });
    }

    /** A solve large enough for the large-stack executor, in confined memory with padded rows. */
    @Test
    void posvOnTheLargeStackExecutorMatchesCommonsMath() {
        int k = OpenBlasLinalg.POSV_LARGE_STACK_ORDER + 17;
        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom random = new SplittableRandom(99);
            Framed a = Framed.spd(arena, k, 3, random);
            Framed b = Framed.random(arena, k, 2, 4, random);
            CholeskyDecomposition oracle = new CholeskyDecomposition(new Array2DRowRealMatrix(toDouble(a.view)));
            blas.posv(a.view, b.view);
            checkSolution(oracle, a.view, b, 2);
        }
    }

    /** Critical-call, plain and executor-sized solves from the worker pool at once, in shared memory. */
    @Test
    void posvBatchFromManyThreads() {
        int count = 300;
        SplittableRandom random = new SplittableRandom(5);
        try (Arena arena = Arena.ofShared()) {
            List<FloatMatrix> as = new ArrayList<>();
            List<Framed> bs = new ArrayList<>();
            List<CholeskyDecomposition> oracles = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int k = i % 50 == 0 ? OpenBlasLinalg.POSV_LARGE_STACK_ORDER + random.nextInt(20)
                        : i % 10 == 0 ? 64 + random.nextInt(60) : 1 + random.nextInt(24);
                Framed a = Framed.spd(arena, k, 0, random);
                as.add(a.view);
                bs.add(Framed.random(arena, k, 1, 0, random));
                oracles.add(new CholeskyDecomposition(new Array2DRowRealMatrix(toDouble(a.view))));
            }
            blas.posvBatch(as, bs.stream().map(f -> f.view).toList());
            for (int i = 0; i < count; i++) {
                checkSolution(oracles.get(i), as.get(i), bs.get(i), 1);
            }
        }
    }

    private static void checkSolution(CholeskyDecomposition oracle, FloatMatrix factor, Framed b, int nrhs) {
        int k = factor.rows();
        double[][] expected = nrhs == 0 ? new double[k][0]
                : oracle.getSolver().solve(new Array2DRowRealMatrix(b.initial)).getData();
        double tol = 64 * (k + 3) * U * Math.max(maxAbs(expected), 1e-30);
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < nrhs; j++) {
                assertClose(expected[i][j], b.view.get(i, j), tol, "posv k=" + k + " nrhs=" + nrhs, i, j);
            }
        }
        RealMatrix lower = oracle.getL();
        double factorTol = 64 * (k + 3) * U * maxAbs(lower.getData());
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                if (j <= i) {
                    assertClose(lower.getEntry(i, j), factor.get(i, j), factorTol, "posv factor", i, j);
                } else {
                    assertEquals(0f, factor.get(i, j), "posv upper triangle at " + i + "," + j);
                }
            }
        }
        b.assertFrameUntouched();
    }

    // ---------------------------------------------------------------- helpers

    /**
     * A {@code rows x cols} view at offset (1, 1) inside a larger matrix whose rows are {@code pad} floats
     * wider; everything outside the view is NaN, so a wrong leading dimension shows up as NaN results or a
     * changed frame. {@code initial} is the view's content when created.
     */
    private record Framed(FloatMatrix whole, FloatMatrix view, double[][] initial) {
        static Framed random(Arena arena, int rows, int cols, int pad, SplittableRandom random) {
            FloatMatrix whole = FloatMatrix.allocate(arena, rows + 2, cols + pad + 1);
            whole.fill(Float.NaN);
            FloatMatrix view = whole.view(1, 1, rows, cols);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    view.set(i, j, (float) random.nextDouble(-1, 1));
                }
            }
            return new Framed(whole, view, toDouble(view));
        }

        /** {@code X Xᵀ / n + I} for X uniform in [-1, 1]: eigenvalues in about [1, 2.4]. */
        static Framed spd(Arena arena, int n, int pad, SplittableRandom random) {
            Framed framed = random(arena, n, n, pad, random);
            double[][] x = framed.initial;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j <= i; j++) {
                    double sum = i == j ? 1 : 0;
                    for (int l = 0; l < n; l++) {
                        sum += x[i][l] * x[j][l] / n;
                    }
                    framed.view.set(i, j, (float) sum);
                    framed.view.set(j, i, (float) sum);
                }
            }
            return new Framed(framed.whole, framed.view, toDouble(framed.view));
        }

        void assertFrameUntouched() {
            MemorySegment all = whole.segment();
            for (int i = 0; i < whole.rows(); i++) {
                for (int j = 0; j < whole.cols(); j++) {
                    boolean inside = i >= 1 && i <= view.rows() && j >= 1 && j <= view.cols();
                    if (!inside) {
                        assertTrue(Float.isNaN(all.get(JAVA_FLOAT, whole.byteOffset(i, j))),
                                "frame element " + i + "," + j + " was written");
                    }
                }
            }
        }
    }

    private static FloatMatrix random(Arena arena, int rows, int cols, SplittableRandom random) {
        FloatMatrix m = FloatMatrix.allocate(arena, rows, cols);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m.set(i, j, (float) random.nextDouble(-1, 1));
            }
        }
        return m;
    }

    /** {@code A[i][j] = rho^|i-j|}: SPD with condition number {@code (1+rho)/(1-rho)} and a tridiagonal inverse. */
    private static FloatMatrix kacMurdockSzego(Arena arena, int n, double rho) {
        FloatMatrix a = FloatMatrix.allocate(arena, n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a.set(i, j, (float) Math.pow(rho, Math.abs(i - j)));
            }
        }
        return a;
    }

    private static double[][] toDouble(FloatMatrix m) {
        double[][] out = new double[m.rows()][m.cols()];
        for (int i = 0; i < m.rows(); i++) {
            for (int j = 0; j < m.cols(); j++) {
                out[i][j] = m.get(i, j);
            }
        }
        return out;
    }

    private static double maxAbs(double[][] m) {
        double max = 0;
        for (double[] row : m) {
            for (double v : row) {
                max = Math.max(max, Math.abs(v));
            }
        }
        return max;
    }

    private static void assertClose(double expected, float actual, double tol, String what, int i, int j) {
        if (!(Math.abs(expected - actual) <= tol)) {
            fail(what + " at (" + i + ", " + j + "): expected " + expected + ", got " + actual + ", error "
                    + Math.abs(expected - actual) + " > tolerance " + tol);
        }
    }
}
