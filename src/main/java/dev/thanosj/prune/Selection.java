package dev.thanosj.prune;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.Metric;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;

/**
 * Exact "k smallest" selections with the deterministic tie-breaking of {@code ALGORITHMS.md}: ties go to
 * the lower row-major flat index (within a row: the lower column). Scores are non-negative floats whose
 * bit patterns order like the values ({@link Metric}), so an entry is the key {@code (bits, flat index)} and
 * the k smallest are every key up to the k-th.
 *
 * <p>A region (rows x cols of a matrix) in linear time, never sorting it: a sample of the region brackets
 * the k-th score in a window {@code [lo, hi]}; one vectorised pass ({@link Kernels#countAndCollect}) counts
 * the scores below {@code lo} and collects the few keys inside the window; a histogram of their bits and a
 * quickselect inside one bucket ({@link #selectInWindow}) find the k-th key. When the sample was misleading
 * (the k-th key is outside the window, or the window held too many keys) the exact two-pass radix select on
 * the 31 score bits ({@link Kernels#histogram}) takes over.
 */
final class Selection {
    /**
     * {@code -Dthanosj.selection=radix} skips the sampled window and always takes the exact radix path
     * (so the fixture tests can run through both paths).
     */
    private static final boolean RADIX_ONLY = "radix".equals(System.getProperty("thanosj.selection"));
    /**
     * Most entries sampled to bracket the k-th score (the size balances the cost of the sample against the
     * keys its window lets through), and the fewest.
     */
    private static final int SAMPLE = 1 << 17;
    private static final int MIN_SAMPLE = 1 << 10;
    /** Fixed-point scale of the window share {@link #window} reports. */
    private static final int SAMPLE_SCALE = 1 << 20;
    /** Largest share of a region the window may collect before the radix fallback is used. */
    private static final double MAX_WINDOW_SHARE = 0.10;

    /**
     * The k smallest entries of a region: every entry whose score bits are below {@code bits}, and those
     * whose bits equal {@code bits} with row-major flat index at most {@code lastTie}.
     */
    record Threshold(int bits, long lastTie) {
        /** Selects nothing. */
        static final Threshold NONE = new Threshold(0, -1);

        /** How many leading columns of row r (of a region {@code cols} wide) take part in the tie. */
        int tieColumns(int r, int cols) {
            long rel = lastTie - (long) r * cols + 1;
            return (int) Math.max(0, Math.min(cols, rel));
        }
    }

    private Selection() {
    }

    /**
     * The threshold that selects exactly the {@code k} smallest scores of {@code region}, the score of
     * entry (r, c) being {@code metric} of {@code region[r, c]} and {@code factor[factorOffset + c]}.
     */
    static Threshold smallest(Kernels kernels, Linalg linalg, FloatMatrix region, float[] factor, int factorOffset,
            Metric metric, long k) {
        int rows = region.rows();
        int cols = region.cols();
        long total = (long) rows * cols;
        if (k <= 0 || total == 0) {
            return Threshold.NONE;
        }
        if (k > total) {
            throw new IllegalArgumentException("cannot select " + k + " of " + total + " entries");
        }
        if (k == total) {
            return new Threshold(Integer.MAX_VALUE, total - 1);
        }
        if (total >= 1L << 32 || RADIX_ONLY) {
            return radix(kernels, linalg, region, factor, factorOffset, metric, k);
        }
        int[] window = window(kernels, region, factor, factorOffset, metric, k);
        int lo = window[0];
        int hi = window[1];
        double expectedShare = window[2] / (double) SAMPLE_SCALE;
        int ranges = Math.min(rows, 4 * dev.thanosj.concurrent.Workers.threads());
        int perRange = (rows + ranges - 1) / ranges;
        // room for twice the share of the sample that fell in the window, at most MAX_WINDOW_SHARE
        int capacity = (int) Math.max(1024, Math.min(MAX_WINDOW_SHARE, 2 * expectedShare + 0.002) * total);
        int rangeCapacity = capacity / ranges + 1;
        long[][] keys = new long[ranges][];
        long[] below = new long[ranges];
        long[] inWindow = new long[ranges];
        linalg.parallelFor(ranges, i -> {
            int r0 = i * perRange;
            int r1 = Math.min(rows, r0 + perRange);
            long[] buffer = new long[Math.min(rangeCapacity, Math.max(0, r1 - r0) * cols + 1)];
            long b = 0;
            long w = 0;
            for (int r = r0; r < r1; r++) {
                int stored = (int) Math.min(w, buffer.length);
                long packed = kernels.countAndCollect(region.row(r), factor, factorOffset, cols, metric, lo, hi,
                        (long) r * cols, buffer, stored, buffer.length);
                b += packed >>> 32;
                w += packed & 0xffffffffL;
            }
            keys[i] = buffer;
            below[i] = b;
            inWindow[i] = w;
        });
        long belowAll = 0;
        long windowAll = 0;
        boolean overflow = false;
        for (int i = 0; i < ranges; i++) {
            belowAll += below[i];
            windowAll += inWindow[i];
            overflow |= inWindow[i] > keys[i].length;
        }
        if (overflow || belowAll >= k || belowAll + windowAll < k) {
            return radix(kernels, linalg, region, factor, factorOffset, metric, k);
        }
        long kth = selectInWindow(keys, inWindow, k - belowAll - 1, lo, hi);
        return new Threshold((int) (kth >>> 32), kth & 0xffffffffL);
    }

    /**
     * A window {@code [lo, hi]} of score bits that very likely holds the k-th score, from a sample (±4
     * binomial standard deviations around the sample quantile), and the share of the sample inside it
     * (scaled by {@link #SAMPLE_SCALE}).
     */
    private static int[] window(Kernels kernels, FloatMatrix region, float[] factor, int factorOffset, Metric metric,
            long k) {
        int rows = region.rows();
        int cols = region.cols();
        int sampleRows = Math.min(rows, 1024);
        // (2·entries)^(2/3) balances the sample's two selections against the window's keys (≈ 4·entries/√size)
        int size = (int) Math.min(SAMPLE, Math.max(MIN_SAMPLE, Math.cbrt(Math.pow(2.0 * rows * cols, 2))));
        int chunk = Math.min(cols, Math.max(1, size / sampleRows));
        long[] sample = new long[sampleRows * chunk];
        int[] bits = new int[chunk];
        for (int i = 0; i < sampleRows; i++) {
            int r = (int) (((long) i * rows + rows / 2) / sampleRows) % rows;
            int c0 = (int) ((i * 7919L) % (cols - chunk + 1));
            MemorySegment row = region.row(r).asSlice((long) c0 * Float.BYTES, (long) chunk * Float.BYTES);
            kernels.scoreBits(row, factor, factorOffset + c0, chunk, metric, bits);
            for (int x = 0; x < chunk; x++) {
                sample[i * chunk + x] = (long) bits[x] << 32; // a key without an index
            }
        }
        int s = sample.length;
        double q = (double) k / ((long) rows * cols);
        double margin = 4 * Math.sqrt(s * q * (1 - q)) + 4;
        long loIndex = (long) Math.floor(q * s - margin);
        long hiIndex = (long) Math.ceil(q * s + margin);
        long[][] parts = {sample};
        long[] lengths = {s};
        int hi = hiIndex >= s ? Integer.MAX_VALUE
                : (int) (selectInWindow(parts, lengths, hiIndex, 0, Integer.MAX_VALUE) >>> 32);
        int lo = loIndex <= 0 ? 0 : (int) (selectInWindow(parts, lengths, loIndex, 0, Integer.MAX_VALUE) >>> 32);
        long inWindow = 0;
        for (long key : sample) {
            long b = key >>> 32;
            if (b >= lo && b <= hi) {
                inWindow++;
            }
        }
        return new int[] {lo, hi, (int) (inWindow * SAMPLE_SCALE / s)};
    }

    /** The exact fallback: radix select on the high and low 16 bits, then the tie position by a counting pass. */
    static Threshold radix(Kernels kernels, Linalg linalg, FloatMatrix region, float[] factor, int factorOffset,
            Metric metric, long k) {
        int rows = region.rows();
        int cols = region.cols();
        long[] high = histogram(kernels, linalg, region, factor, factorOffset, metric, -1);
        int bucket = 0;
        long before = 0;
        while (before + high[bucket] < k) {
            before += high[bucket++];
        }
        long[] low = histogram(kernels, linalg, region, factor, factorOffset, metric, bucket);
        int lowBits = 0;
        while (before + low[lowBits] < k) {
            before += low[lowBits++];
        }
        int limit = (bucket << 16) | lowBits;
        long tiesTaken = k - before;
        long[] tiesPerRow = new long[rows];
        LayerMath.parallelRows(linalg, rows, (r0, r1) -> {
            long[] none = new long[0];
            for (int r = r0; r < r1; r++) {
                tiesPerRow[r] = kernels.countAndCollect(region.row(r), factor, factorOffset, cols, metric, limit, limit,
                        0, none, 0, 0) & 0xffffffffL;
            }
        });
        long seen = 0;
        for (int r = 0; r < rows; r++) {
            if (seen + tiesPerRow[r] >= tiesTaken) {
                MemorySegment row = region.row(r);
                for (int c = 0; c < cols; c++) {
                    if (metric.bits(row.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, c),
                            factor[factorOffset + c]) == limit && ++seen == tiesTaken) {
                        return new Threshold(limit, (long) r * cols + c);
                    }
                }
            }
            seen += tiesPerRow[r];
        }
        throw new AssertionError("tie position not found");
    }

    private static long[] histogram(Kernels kernels, Linalg linalg, FloatMatrix region, float[] factor,
            int factorOffset, Metric metric, int high) {
        int rows = region.rows();
        int ranges = Math.max(1, Math.min(rows, dev.thanosj.concurrent.Workers.threads()));
        int perRange = (rows + ranges - 1) / ranges;
        int[][] counts = new int[ranges][];
        linalg.parallelFor(ranges, i -> {
            int[] c = new int[1 << 16];
            for (int r = i * perRange; r < Math.min(rows, (i + 1) * perRange); r++) {
                kernels.histogram(region.row(r), factor, factorOffset, region.cols(), metric, high, c);
            }
            counts[i] = c;
        });
        long[] out = new long[1 << 16];
        for (int[] c : counts) {
            for (int b = 0; b < out.length; b++) {
                out[b] += c[b];
            }
        }
        return out;
    }

    /**
     * Marks in {@code mask} (bit c of word {@code maskOffset + c / 64}) the {@code k} smallest scores of one
     * row (ties: lower column) and returns k; {@code bits} and {@code copy} are scratch of length ≥ n.
     */
    static int smallestInRow(Kernels kernels, MemorySegment row, float[] factor, int factorOffset, int n,
            Metric metric, int k, int[] bits, long[] copy, long[] mask, int maskOffset) {
        if (k <= 0) {
            return kernels.markSelected(row, factor, factorOffset, n, metric, 0, 0, mask, maskOffset);
        }
        if (k >= n) {
            return kernels.markSelected(row, factor, factorOffset, n, metric, Integer.MAX_VALUE, n, mask, maskOffset);
        }
        kernels.scoreBits(row, factor, factorOffset, n, metric, bits);
        for (int c = 0; c < n; c++) {
            copy[c] = bits[c]; // non-negative, so the long order is the int order
        }
        int kth = (int) quickselect(copy, n, k - 1);
        int below = 0;
        for (int c = 0; c < n; c++) {
            if (bits[c] < kth) {
                below++;
            }
        }
        int ties = k - below;
        int tieColumns = 0;
        for (int c = 0; c < n && ties > 0; c++) {
            if (bits[c] == kth) {
                ties--;
                tieColumns = c + 1;
            }
        }
        return kernels.markSelected(row, factor, factorOffset, n, metric, kth, tieColumns, mask, maskOffset);
    }

    /** Buckets of {@link #selectInWindow}'s histogram (a 256 KB count array: stays in L2). */
    private static final int BUCKETS = 1 << 16;

    /**
     * The {@code index}-th smallest of the keys {@code parts[i][0..lengths[i])} taken together, whose score bits
     * (the high 32) all lie in {@code [lo, hi]}: one histogram pass over the bits (at most {@value #BUCKETS}
     * buckets), then a quickselect among the keys of the bucket that holds the rank only. Two streaming passes
     * instead of a quickselect's data-dependent branches over every key (measured at 4096x4096: 0.06–0.2 ms
     * against 0.2–1.7 ms for 50,000–200,000 window keys), and no concatenation. Leaves the keys as they are.
     */
    static long selectInWindow(long[][] parts, long[] lengths, long index, int lo, int hi) {
        long span = (long) hi - lo;
        int shift = Math.max(0, 64 - Long.numberOfLeadingZeros(span) - 16);
        int[] counts = new int[BUCKETS];
        for (int p = 0; p < parts.length; p++) {
            long[] keys = parts[p];
            for (int i = 0; i < lengths[p]; i++) {
                counts[(int) (((keys[i] >>> 32) - lo) >>> shift)]++;
            }
        }
        int bucket = 0;
        long before = 0;
        while (before + counts[bucket] <= index) {
            before += counts[bucket++];
        }
        long[] inBucket = new long[counts[bucket]];
        int m = 0;
        for (int p = 0; p < parts.length; p++) {
            long[] keys = parts[p];
            for (int i = 0; i < lengths[p]; i++) {
                if ((int) (((keys[i] >>> 32) - lo) >>> shift) == bucket) {
                    inBucket[m++] = keys[i];
                }
            }
        }
        return quickselect(inBucket, m, (int) (index - before));
    }

    /** The {@code index}-th smallest (0-based) of {@code keys[0..n)}, reordering them; expected linear time. */
    static long quickselect(long[] keys, int n, int index) {
        int lo = 0;
        int hi = n - 1;
        int seed = 0x9E3779B9;
        while (lo < hi) {
            seed = seed * 1103515245 + 12345;
            long pivot = keys[lo + Math.floorMod(seed >>> 1, hi - lo + 1)];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (keys[i] < pivot) {
                    i++;
                }
                while (keys[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = keys[i];
                    keys[i] = keys[j];
                    keys[j] = t;
                    i++;
                    j--;
                }
            }
            if (index <= j) {
                hi = j;
            } else if (index >= i) {
                lo = i;
            } else {
                return keys[index];
            }
        }
        return keys[index];
    }
}
