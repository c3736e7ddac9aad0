package dev.thanosj.bench;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.Metric;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C kernels of {@code native/kernels.c} (built by the bench build into
 * {@code bench/target/native/libthanosj_kernels.so}) behind the {@link Kernels} interface, so the JMH
 * benchmarks call all three implementations the same way. Downcalls are {@code critical(true)}: no thread
 * state transition, and Java arrays are passed without copying. Only the benchmarked kernels exist here.
 */
final class NativeKernels implements Kernels {
    private static final Linker LINKER = Linker.nativeLinker();
    private final int lanes;
    private final MethodHandle wandaMetric;
    private final MethodHandle countAndCollect;
    private final MethodHandle markSelected;
    private final MethodHandle nOfMMask;
    private final MethodHandle zeroMasked;
    private final MethodHandle reverse;
    private final MethodHandle spdSolveBatch;
    private final MethodHandle multiplyBatch;
    private final MethodHandle subtractScaled;
    private final MethodHandle dot;
    private final MethodHandle sumSquaredDifference;

    private NativeKernels(SymbolLookup lib, int lanes) {
        this.lanes = lanes;
        wandaMetric = handle(lib, "tj_wanda_metric", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        countAndCollect = handle(lib, "tj_count_and_collect", FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT));
        markSelected = handle(lib, "tj_mark_selected", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        nOfMMask = handle(lib, "tj_n_of_m_mask", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS));
        zeroMasked = handle(lib, "tj_zero_masked", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS));
        reverse = handle(lib, "tj_reverse", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT));
        spdSolveBatch = handle(lib, "tj_spd_solve_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        multiplyBatch = handle(lib, "tj_multiply_batch", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_INT));
        subtractScaled = handle(lib, "tj_subtract_scaled", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_FLOAT,
                JAVA_INT));
        dot = handle(lib, "tj_dot", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS, ADDRESS, JAVA_INT));
        sumSquaredDifference = handle(lib, "tj_sum_squared_difference", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS,
                ADDRESS, JAVA_INT));
    }

    private static MethodHandle handle(SymbolLookup lib, String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(lib.find(name).orElseThrow(), descriptor, Linker.Option.critical(true));
    }

    /** Where the bench build puts the library: {@code target/native/} next to the jar or classes folder. */
    static Path libraryPath() {
        String forced = System.getProperty("thanosj.native.kernels");
        if (forced != null) {
            return Path.of(forced);
        }
        try {
            Path here = Path.of(NativeKernels.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return here.getParent().resolve("native").resolve("libthanosj_kernels.so");
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Loads the library; {@code lanes} is the batch width of the SPD solve (use the Panama kernels' one). */
    static NativeKernels load(int lanes) {
        Path path = libraryPath();
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path + " is missing: build the benchmarks with bench/run (it runs make in native/)");
        }
        return new NativeKernels(SymbolLookup.libraryLookup(path, Arena.global()), lanes);
    }

    private static MemorySegment of(float[] a, int offset) {
        return MemorySegment.ofArray(a).asSlice((long) offset * Float.BYTES);
    }

    private static RuntimeException rethrow(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public String description() {
        return "C (gcc -O3 -march=native) through FFM";
    }

    @Override
    public int batchLanes() {
        return lanes;
    }

    @Override
    public void wandaMetric(MemorySegment row, float[] sqrtS, int factorOffset, int n, float[] out) {
        try {
            wandaMetric.invokeExact(row, of(sqrtS, factorOffset), n, MemorySegment.ofArray(out));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void scoreBits(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int[] out) {
        throw new UnsupportedOperationException("not benchmarked");
    }

    @Override
    public long countAndCollect(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int lowBits,
            int highBits, long keyBase, long[] keys, int keyStart, int keyLimit) {
        try {
            return (long) countAndCollect.invokeExact(row, of(factor, factorOffset), n, metric.ordinal(), lowBits,
                    highBits, keyBase, MemorySegment.ofArray(keys), keyStart, keyLimit);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void histogram(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int high,
            int[] counts) {
        throw new UnsupportedOperationException("not benchmarked");
    }

    @Override
    public int markSelected(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int limitBits,
            int tieColumns, long[] mask, int maskOffset) {
        try {
            return (int) markSelected.invokeExact(row, of(factor, factorOffset), n, metric.ordinal(), limitBits,
                    tieColumns, MemorySegment.ofArray(mask).asSlice((long) maskOffset * Long.BYTES));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void nOfMMask(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int keep, int m,
            long[] mask, int maskOffset) {
        try {
            nOfMMask.invokeExact(row, of(factor, factorOffset), n, metric.ordinal(), keep, m,
                    MemorySegment.ofArray(mask).asSlice((long) maskOffset * Long.BYTES));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void reverse(MemorySegment src, MemorySegment dst, int n) {
        try {
            reverse.invokeExact(src, dst, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void zeroMasked(MemorySegment row, int n, long[] mask, int maskOffset) {
        try {
            zeroMasked.invokeExact(row, n, MemorySegment.ofArray(mask).asSlice((long) maskOffset * Long.BYTES));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int gatherMasked(MemorySegment row, int n, long[] mask, int maskOffset, int[] indices, float[] values) {
        throw new UnsupportedOperationException("not benchmarked");
    }

    @Override
    public void scatter(MemorySegment row, int[] indices, float[] values, int k) {
        throw new UnsupportedOperationException("not benchmarked");
    }

    @Override
    public boolean spdSolveBatch(float[] gram, int gramStride, int[] q, int k, float[] rhs, float[] work) {
        try {
            return (int) spdSolveBatch.invokeExact(MemorySegment.ofArray(gram), gramStride, MemorySegment.ofArray(q), k,
                    MemorySegment.ofArray(rhs), MemorySegment.ofArray(work), lanes) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void multiplyBatch(float[] a, int n, float[] x, float[] y) {
        try {
            multiplyBatch.invokeExact(MemorySegment.ofArray(a), n, MemorySegment.ofArray(x), MemorySegment.ofArray(y),
                    lanes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void subtractScaled(float[] y, int yOffset, float[] x, int xOffset, float a, int n) {
        try {
            subtractScaled.invokeExact(of(y, yOffset), of(x, xOffset), a, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public double dot(MemorySegment a, MemorySegment b, int n) {
        try {
            return (double) dot.invokeExact(a, b, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public double sumSquares(MemorySegment a, int n) {
        return dot(a, a, n);
    }

    @Override
    public double sumSquaredDifference(MemorySegment a, MemorySegment b, int n) {
        try {
            return (double) sumSquaredDifference.invokeExact(a, b, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int countZeros(MemorySegment a, int n) {
        throw new UnsupportedOperationException("not benchmarked");
    }

    @Override
    public boolean allFinite(MemorySegment a, int n) {
        throw new UnsupportedOperationException("not benchmarked");
    }
}
