package dev.thanosj.prune;

/**
 * Exact "k smallest" selections with the deterministic tie-breaking of {@code ALGORITHMS.md}: ties go to
 * the lower row-major flat index (within a row or group: the lower column). Scores are non-negative
 * floats, whose IEEE bit patterns order like the values, so selection works on the bits: a two-pass radix
 * select for a whole matrix region (linear time, no copy of the scores), a quickselect on
 * {@code (bits, column)} keys for one row.
 */
final class Selection {

    /** A score per entry of a {@code rows x cols} region; must be non-negative and not NaN. */
    @FunctionalInterface
    interface Scores {
        float at(int r, int c);
    }

    /**
     * The k smallest entries of a region: every entry whose score bits are below {@code bits}, and the first
     * {@code tiesTaken} entries (in row-major order) whose score bits equal {@code bits}.
     */
    record Threshold(int bits, long tiesTaken) {
        /** Selects nothing. */
        static final Threshold NONE = new Threshold(0, 0);
    }

    private Selection() {
    }

    /** The threshold that selects exactly the {@code k} smallest scores of the {@code rows x cols} region. */
    static Threshold smallest(int rows, int cols, Scores scores, long k) {
        long total = (long) rows * cols;
        if (k <= 0) {
            return Threshold.NONE;
        }
        if (k > total) {
            throw new IllegalArgumentException("cannot select " + k + " of " + total + " entries");
        }
        long[] high = new long[1 << 16];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                high[bits(scores.at(r, c)) >>> 16]++;
            }
        }
        int bucket = 0;
        long before = 0;
        while (before + high[bucket] < k) {
            before += high[bucket++];
        }
        long[] low = new long[1 << 16];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int b = bits(scores.at(r, c));
                if (b >>> 16 == bucket) {
                    low[b & 0xffff]++;
                }
            }
        }
        int lowBits = 0;
        while (before + low[lowBits] < k) {
            before += low[lowBits++];
        }
        return new Threshold((bucket << 16) | lowBits, k - before);
    }

    /** Receives the entries a threshold selects. */
    @FunctionalInterface
    interface EntryConsumer {
        void accept(int r, int c);
    }

    /** Calls {@code action} for every entry of the region that {@code threshold} selects, in row-major order. */
    static void forEachSelected(int rows, int cols, Scores scores, Threshold threshold, EntryConsumer action) {
        long ties = threshold.tiesTaken();
        if (ties == 0) {
            return;
        }
        int limit = threshold.bits();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int b = bits(scores.at(r, c));
                if (b < limit || (b == limit && ties-- > 0)) {
                    action.accept(r, c);
                }
            }
        }
    }

    /**
     * Writes into {@code selected[c]} whether entry {@code (r, c)} of a row is among the {@code k} smallest
     * scores {@code scores[0..n)} of that row (ties: lower index); {@code keys} is scratch of length ≥ n.
     */
    static void smallestInRow(float[] scores, int n, int k, boolean[] selected, long[] keys) {
        for (int c = 0; c < n; c++) {
            selected[c] = false;
        }
        if (k <= 0) {
            return;
        }
        if (k >= n) {
            java.util.Arrays.fill(selected, 0, n, true);
            return;
        }
        for (int c = 0; c < n; c++) {
            keys[c] = ((long) bits(scores[c]) << 32) | c;
        }
        long kth = quickselect(keys, n, k - 1);
        for (int c = 0; c < n; c++) {
            selected[c] = (((long) bits(scores[c]) << 32) | c) <= kth;
        }
    }

    /**
     * Writes into {@code selected[c]}, for {@code c} in {@code [from, to)}, whether entry c is among the
     * {@code n} smallest scores of its group of {@code m} consecutive columns (groups start at multiples of
     * {@code m}; ties: lower column). {@code order} is scratch of length ≥ m.
     */
    static void smallestInGroups(float[] scores, int from, int to, int n, int m, boolean[] selected, int[] order) {
        assert from % m == 0 && (to - from) % m == 0;
        for (int g = from; g < to; g += m) {
            for (int i = 0; i < m; i++) {
                int c = g + i;
                int at = i;
                // insertion by (score bits, column): stable, so equal scores keep the lower column first
                while (at > 0 && bits(scores[order[at - 1]]) > bits(scores[c])) {
                    order[at] = order[at - 1];
                    at--;
                }
                order[at] = c;
                selected[c] = false;
            }
            for (int i = 0; i < n; i++) {
                selected[order[i]] = true;
            }
        }
    }

    /** The {@code index}-th smallest (0-based) of {@code keys[0..n)}, reordering them; expected linear time. */
    private static long quickselect(long[] keys, int n, int index) {
        int lo = 0;
        int hi = n - 1;
        int seed = 0x9E3779B9;
        while (lo < hi) {
            seed = seed * 1103515245 + 12345;
            int pivotIndex = lo + Math.floorMod(seed >>> 1, hi - lo + 1);
            long pivot = keys[pivotIndex];
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

    /** The bit pattern of a non-negative score; {@code -0.0} counts as {@code 0.0}. */
    static int bits(float score) {
        assert !(score < 0) && !Float.isNaN(score) : score;
        return Float.floatToRawIntBits(score) & 0x7fffffff;
    }
}
