package dev.thanosj.bench;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.KernelsProvider;
import dev.thanosj.kernels.Metric;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Each kernel alone, one thread, on data that stays in L1/L2 (a row of {@code n} floats; a batch of
 * {@code lanes} SPD systems of size {@code k} gathered from a {@code 128 x 128} Gram matrix), for the three
 * implementations: {@code panama} (Vector API), {@code scalar} (plain Java) and {@code native} (the C of
 * {@code native/kernels.c}, gcc -O3 -march=native, called through FFM; {@link NativeKernels}). The
 * native batch solve uses the Panama lane count, so both solve the same systems.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {
        "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class KernelBench {
    static final int GRAM = 128;

    @Param({"panama", "scalar", "native"})
    public String impl;

    @Param({"4096"})
    public int n;

    @Param({"64"})
    public int k;

    Kernels kernels;
    private Arena arena;
    MemorySegment row;
    MemorySegment other;
    MemorySegment work;
    float[] factor;
    float[] out;
    float[] y;
    float[] x;
    long[] mask;
    long[] keys;
    int lowBits;
    int highBits;
    int limitBits;
    float[] gram;
    int[] q;
    float[] rhs;
    float[] rhsOriginal;
    float[] solveWork;
    float[] batchIn;
    float[] batchOut;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = impl.equals("native") ? NativeKernels.load(KernelsProvider.create("panama").batchLanes())
                : KernelsProvider.create(impl);
        arena = Arena.ofShared();
        SplittableRandom random = new SplittableRandom(7);
        row = arena.allocate((long) n * Float.BYTES, 64);
        other = arena.allocate((long) n * Float.BYTES, 64);
        work = arena.allocate((long) n * Float.BYTES, 64);
        factor = new float[n];
        out = new float[n];
        y = new float[n];
        x = new float[n];
        for (int i = 0; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, (float) random.nextGaussian());
            other.setAtIndex(JAVA_FLOAT, i, (float) random.nextGaussian());
            factor[i] = (float) (0.5 + random.nextDouble());
            x[i] = (float) random.nextGaussian();
            y[i] = (float) random.nextGaussian();
        }
        mask = new long[(n + 63) / 64];
        keys = new long[n];
        int[] bits = new int[n];
        KernelsProvider.create("scalar").scoreBits(row, factor, 0, n, Metric.ABS_SCALED, bits);
        java.util.Arrays.sort(bits);
        lowBits = bits[n / 2 - n / 64]; // a window of ~3% around the median, as the selection uses
        highBits = bits[n / 2 + n / 64];
        limitBits = bits[n / 2];
        int lanes = kernels.batchLanes();
        gram = BenchData.gram(GRAM, random);
        q = new int[k * lanes];
        rhsOriginal = new float[k * lanes];
        for (int lane = 0; lane < lanes; lane++) {
            int[] chosen = random.ints(0, GRAM).distinct().limit(k).sorted().toArray();
            for (int i = 0; i < k; i++) {
                q[i * lanes + lane] = chosen[i];
                rhsOriginal[i * lanes + lane] = (float) random.nextGaussian();
            }
        }
        rhs = rhsOriginal.clone();
        solveWork = new float[kernels.spdWorkSize(k)];
        batchIn = new float[GRAM * lanes];
        for (int i = 0; i < batchIn.length; i++) {
            batchIn[i] = (float) random.nextGaussian();
        }
        batchOut = new float[GRAM * lanes];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** Wanda metric of a row into a float[]. */
    @Benchmark
    public float[] wandaMetric() {
        kernels.wandaMetric(row, factor, 0, n, out);
        return out;
    }

    /** The selection's main pass: count below the window, collect the window's keys. */
    @Benchmark
    public long countAndCollect() {
        return kernels.countAndCollect(row, factor, 0, n, Metric.ABS_SCALED, lowBits, highBits, 0, keys, 0, n);
    }

    /** Mask of the entries below a threshold (with a tie column bound). */
    @Benchmark
    public long[] markSelected() {
        kernels.markSelected(row, factor, 0, n, Metric.ABS_SCALED, limitBits, n / 2, mask, 0);
        return mask;
    }

    /** 2:4 mask of a row. */
    @Benchmark
    public long[] nOfMMask() {
        kernels.nOfMMask(row, factor, 0, n, Metric.ABS_SCALED, 2, 4, mask, 0);
        return mask;
    }

    /** Zeroes the masked entries of a copy of the row (copy included; it is a bulk memcpy in all three). */
    @Benchmark
    public MemorySegment zeroMasked() {
        work.copyFrom(row);
        kernels.zeroMasked(work, n, mask, 0);
        return work;
    }

    /** One batch of {@code lanes} SPD systems of size k: gather from the Gram matrix, Cholesky, two solves. */
    @Benchmark
    public float[] spdSolveBatch() {
        System.arraycopy(rhsOriginal, 0, rhs, 0, rhs.length);
        if (!kernels.spdSolveBatch(gram, GRAM, q, k, rhs, solveWork)) {
            throw new IllegalStateException("not positive definite");
        }
        return rhs;
    }

    /** A row reversed into another (the reversal J H J of the factorisation, one row). */
    @Benchmark
    public MemorySegment reverse() {
        kernels.reverse(row, work, n);
        return work;
    }

    /** The Gram matrix times {@code lanes} vectors side by side (the complement solves of Thanos). */
    @Benchmark
    public float[] multiplyBatch() {
        kernels.multiplyBatch(gram, GRAM, batchIn, batchOut);
        return batchOut;
    }

    /** SparseGPT's in-block row update {@code y −= a·x}. */
    @Benchmark
    public float[] subtractScaled() {
        kernels.subtractScaled(y, 0, x, 0, 1e-7f, n);
        return y;
    }

    /** Dot product (loss evaluation). */
    @Benchmark
    public double dot() {
        return kernels.dot(row, other, n);
    }

    /** {@code Σ (a − b)²} (the loss's damping term). */
    @Benchmark
    public double sumSquaredDifference() {
        return kernels.sumSquaredDifference(row, other, n);
    }
}
