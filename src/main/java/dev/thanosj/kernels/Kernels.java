package dev.thanosj.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The SIMD kernels of pruning: the work BLAS does not do (scores, exact selection passes, masks, gathers,
 * the per-row small SPD solves, reductions for the loss). Two implementations, {@link ScalarKernels} and
 * {@code PanamaKernels} (Vector API), chosen once per process by {@link #get()}.
 *
 * <p>Conventions. A "row" is a {@link MemorySegment} of at least {@code n} floats (native byte order),
 * usually a {@code FloatMatrix} row or a column range of one. Per-column factors are a {@code float[]}
 * read from {@code factorOffset}. Masks are bitsets in a {@code long[]}: entry {@code c} of a row is bit
 * {@code c % 64} of word {@code maskOffset + c / 64}. Scores and their bit patterns follow {@link Metric}
 * exactly, so every provider produces identical masks. Arguments are checked by the callers (the public
 * boundary is the pruning API); kernels only {@code assert}.
 */
public interface Kernels {

    /** The provider chosen for this process (see {@link KernelsProvider}). */
    static Kernels get() {
        return KernelsProvider.get();
    }

    /** Short name: {@code scalar} or {@code panama}. */
    String name();

    /** One line for logs: implementation and vector width. */
    String description();

    /** Systems per {@link #spdSolveBatch} call: the interleaving width of its layout. */
    int batchLanes();

    /** {@code out[c] = |row[c]| · sqrtS[factorOffset + c]} for {@code c < n} (the Wanda metric); writes out. */
    void wandaMetric(MemorySegment row, float[] sqrtS, int factorOffset, int n, float[] out);

    /** {@code out[c] = metric.bits(row[c], factor[factorOffset + c])} for {@code c < n}; writes out. */
    void scoreBits(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int[] out);

    /**
     * The main pass of the exact k-smallest selection: counts the entries whose score bits are below
     * {@code lowBits}, and collects those with bits in {@code [lowBits, highBits]} as keys
     * {@code (bits << 32) | (keyBase + c)} into {@code keys[keyStart ..]}, storing at most up to
     * {@code keyLimit} (but counting all).
     *
     * @return {@code (below << 32) | inWindow}
     */
    long countAndCollect(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int lowBits,
            int highBits, long keyBase, long[] keys, int keyStart, int keyLimit);

    /**
     * One histogram pass of the radix selection (the fallback when the window of {@link #countAndCollect}
     * misses): for entries whose {@code bits >>> 16 == high} (or every entry when {@code high < 0}), adds
     * one to {@code counts[high < 0 ? bits >>> 16 : bits & 0xffff]}.
     */
    void histogram(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int high, int[] counts);

    /**
     * Writes the selection mask of a row: bit c set iff {@code bits < limitBits}, or {@code bits == limitBits}
     * and {@code c < tieColumns}; clears the other bits of words covering {@code [0, n)}.
     *
     * @return the number of entries selected
     */
    int markSelected(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int limitBits,
            int tieColumns, long[] mask, int maskOffset);

    /**
     * n:m mask of a row: in every group of {@code m} consecutive entries ({@code n % m == 0}), the
     * {@code keep} smallest scores (ties: lower column) get their bit set; other bits cleared.
     */
    void nOfMMask(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int keep, int m,
            long[] mask, int maskOffset);

    /**
     * {@code dst[i] = src[n − 1 − i]} for {@code i < n} (the reversal permutation J of the factorisation):
     * src and dst must not overlap.
     */
    void reverse(MemorySegment src, MemorySegment dst, int n);

    /** {@code row[c] = 0} wherever mask bit c is set, {@code c < n}; modifies row. */
    void zeroMasked(MemorySegment row, int n, long[] mask, int maskOffset);

    /**
     * Gathers a row's masked entries in column order: {@code indices[i]} and {@code values[i] = row[indices[i]]}.
     *
     * @return how many
     */
    int gatherMasked(MemorySegment row, int n, long[] mask, int maskOffset, int[] indices, float[] values);

    /** {@code row[indices[i]] = values[i]} for {@code i < k}; modifies row. */
    void scatter(MemorySegment row, int[] indices, float[] values, int k);

    /**
     * Solves {@code batchLanes()} small SPD systems at once, {@code R̂ x = b} with {@code R̂[x][y] =
     * gram[q[x][lane] · gramStride + q[x][lane']]}: Cholesky, forward and backward substitution, lanes side by
     * side (SIMD across systems, so the k³/3 work runs at full vector width with no tails).
     * Layout: {@code q[x · L + lane]} ({@code -1} pads a system shorter than k: identity row, zero
     * right-hand side), {@code rhs[x · L + lane]}, L = {@link #batchLanes()}; {@code work} holds at least
     * {@link #spdWorkSize(int)} floats. Overwrites rhs with the solutions.
     *
     * @return false when a system is not numerically positive definite (rhs is then undefined)
     */
    boolean spdSolveBatch(float[] gram, int gramStride, int[] q, int k, float[] rhs, float[] work);

    /** Floats of {@code work} that {@link #spdSolveBatch} needs for systems of size k. */
    default int spdWorkSize(int k) {
        return (k * (k + 1) / 2 + k) * batchLanes();
    }

    /**
     * {@code y = A x} for {@link #batchLanes()} vectors side by side, in {@link #spdSolveBatch}'s layout:
     * {@code y[i · L + lane] = Σ_j a[i · n + j] · x[j · L + lane]} with A {@code n x n}, row-major.
     * Overwrites the first {@code n · L} floats of y (which must not be x).
     */
    void multiplyBatch(float[] a, int n, float[] x, float[] y);

    /** {@code y[yOffset + i] -= a · x[xOffset + i]} for {@code i < n}; modifies y. */
    void subtractScaled(float[] y, int yOffset, float[] x, int xOffset, float a, int n);

    /** {@code Σ a[i] · b[i]}, float products, reduced with several accumulators. */
    double dot(MemorySegment a, MemorySegment b, int n);

    /** {@code Σ a[i]²}. */
    double sumSquares(MemorySegment a, int n);

    /** {@code Σ (a[i] − b[i])²}. */
    double sumSquaredDifference(MemorySegment a, MemorySegment b, int n);

    /** How many of {@code a[0..n)} are exactly zero ({@code ±0}). */
    int countZeros(MemorySegment a, int n);

    /** Whether every one of {@code a[0..n)} is finite. */
    boolean allFinite(MemorySegment a, int n);
}
