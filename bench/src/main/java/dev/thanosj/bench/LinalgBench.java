package dev.thanosj.bench;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.linalg.LinalgProvider;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code gemm} ({@code C = A·B}, square, β = 0) and {@code potrf} (lower Cholesky of an SPD matrix) for
 * both linear-algebra providers, with the provider's default thread count. Each provider is created with
 * {@link LinalgProvider#create}, not the process-wide choice, so one fork measures the one named by
 * {@code provider}. GFLOP/s from the score in ms/op: gemm {@code 2n³ / (ms · 1e6)}, potrf
 * {@code n³/3 / (ms · 1e6)}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {
        "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class LinalgBench {

    @Param({"openblas", "java"})
    public String provider;

    @Param({"512", "1024", "2048"})
    public int n;

    Linalg linalg;
    private Arena arena;
    FloatMatrix a;
    FloatMatrix b;
    FloatMatrix c;
    /** The SPD matrix potrf factors; never modified, {@link Factor} copies it before every call. */
    FloatMatrix spd;

    /** Creates the provider and fills A, B (uniform in [-1, 1)) and the SPD matrix, seeded. */
    @Setup(Level.Trial)
    public void setUp() {
        linalg = LinalgProvider.create(provider);
        arena = Arena.ofShared(); // JMH may run setup and the benchmark on different threads
        SplittableRandom random = new SplittableRandom(42);
        a = random(arena, n, n, random);
        b = random(arena, n, n, random);
        c = FloatMatrix.allocate(arena, n, n);
        spd = spd(arena, n, random);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code C = A·B}; overwrites C. */
    @Benchmark
    public FloatMatrix gemm() {
        linalg.gemm(false, false, 1f, a, b, 0f, c);
        return c;
    }

    /**
     * The matrix potrf works on, restored from {@link LinalgBench#spd} before every invocation.
     * {@code Level.Invocation} rather than copying inside the benchmark and subtracting the copy's time:
     * the copy (n² floats) stays out of the measurement, and one potrf call takes long enough (≥ 0.1 ms at
     * n = 512) that JMH's per-invocation timestamps cost nothing measurable. Only potrf uses this state, so
     * gemm is timed per iteration as usual.
     */
    @State(Scope.Thread)
    public static class Factor {
        private Arena arena;
        FloatMatrix work;

        @Setup(Level.Trial)
        public void allocate(LinalgBench bench) {
            arena = Arena.ofShared();
            work = FloatMatrix.allocate(arena, bench.n, bench.n);
        }

        /** Overwrites {@link #work} with the SPD matrix. */
        @Setup(Level.Invocation)
        public void restore(LinalgBench bench) {
            work.copyFrom(bench.spd);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    /** Lower Cholesky factor of the SPD matrix, in place in {@code factor.work}. */
    @Benchmark
    public FloatMatrix potrf(Factor factor) {
        linalg.potrf(Linalg.Triangle.LOWER, factor.work);
        return factor.work;
    }

    /** A {@code rows x cols} matrix of uniform values in [-1, 1). */
    static FloatMatrix random(Arena arena, int rows, int cols, SplittableRandom random) {
        FloatMatrix m = FloatMatrix.allocate(arena, rows, cols);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m.set(i, j, (float) random.nextDouble(-1, 1));
            }
        }
        return m;
    }

    /**
     * A symmetric, strictly diagonally dominant matrix with a positive diagonal (hence SPD): off-diagonal
     * entries uniform in [-1, 1), diagonal {@code n}. Built in O(n²), so setting up n = 2048 is quick;
     * the conditioning does not change potrf's work.
     */
    static FloatMatrix spd(Arena arena, int n, SplittableRandom random) {
        FloatMatrix m = FloatMatrix.allocate(arena, n, n);
        for (int i = 0; i < n; i++) {
            m.set(i, i, n);
            for (int j = 0; j < i; j++) {
                float v = (float) random.nextDouble(-1, 1);
                m.set(i, j, v);
                m.set(j, i, v);
            }
        }
        return m;
    }
}
