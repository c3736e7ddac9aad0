package dev.thanosj.reference;

import java.util.Arrays;

/**
 * Every "k smallest" selection the reference made, with how close it came to a tie: the <em>relative gap</em>
 * between the last selected and the first unselected score, divided by the largest |score| among the
 * candidates. A float32 implementation computes the same scores with absolute errors of a few ulps of the
 * largest candidate (the weights it updates carry errors relative to {@code max|W|}, not to each entry),
 * so a gap below ~1e-5 means rounding may legitimately pick the other element, and an exact mask comparison
 * is not meaningful for that problem.
 *
 * <p>A tie between two scores that are both exactly 0 (dead inputs, already-zero weights) is not a near-tie:
 * those are exactly 0 in float32 too, and the lower index wins in both.
 */
public final class SelectionLog {
    private double[] gaps = new double[16];
    private int count;

    /**
     * The {@code k} smallest {@code scores} (ties: lower index first), as a mask over the indices; the
     * selection is logged.
     */
    public boolean[] smallest(double[] scores, int k) {
        int n = scores.length;
        if (k < 0 || k > n) {
            throw new IllegalArgumentException("cannot select " + k + " of " + n);
        }
        Integer[] order = sortedOrder(scores);
        boolean[] selected = new boolean[n];
        for (int i = 0; i < k; i++) {
            selected[order[i]] = true;
        }
        record(scores, order, k);
        return selected;
    }

    /**
     * The entries whose score is at most the {@code k}-th smallest (0-based) score, SparseGPT's rule
     * ({@code tmp <= sort(tmp)[k]}): {@code k + 1} entries unless there are ties at the threshold. Logged
     * as a selection of {@code k + 1}.
     */
    public boolean[] atMostKth(double[] scores, int k) {
        int n = scores.length;
        if (k < 0 || k >= n) {
            throw new IllegalArgumentException("no " + k + "-th (0-based) of " + n + " scores");
        }
        Integer[] order = sortedOrder(scores);
        double threshold = scores[order[k]];
        boolean[] selected = new boolean[n];
        for (int i = 0; i < n; i++) {
            selected[i] = scores[i] <= threshold;
        }
        record(scores, order, k + 1);
        return selected;
    }

    private static Integer[] sortedOrder(double[] scores) {
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // Plain < and > so that -0.0 and 0.0 tie (Double.compare would order them).
        Arrays.sort(order, (a, b) -> scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : Integer.compare(a, b));
        return order;
    }

    private void record(double[] scores, Integer[] order, int k) {
        double gap = Double.POSITIVE_INFINITY;
        if (k > 0 && k < scores.length) {
            double last = scores[order[k - 1]];
            double next = scores[order[k]];
            double scale = 0;
            for (double v : scores) {
                scale = Math.max(scale, Math.abs(v));
            }
            if (scale > 0 && !(last == 0 && next == 0)) {
                gap = (next - last) / scale;
            }
        }
        if (count == gaps.length) {
            gaps = Arrays.copyOf(gaps, 2 * count);
        }
        gaps[count++] = gap;
    }

    /** Number of selections made. */
    public int count() {
        return count;
    }

    /** The smallest relative gap of all selections ({@code +∞} when none was close, or none was made). */
    public double minGap() {
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < count; i++) {
            min = Math.min(min, gaps[i]);
        }
        return min;
    }

    /** Number of selections whose relative gap is below {@code threshold}. */
    public int countBelow(double threshold) {
        int below = 0;
        for (int i = 0; i < count; i++) {
            if (gaps[i] < threshold) {
                below++;
            }
        }
        return below;
    }

    @Override
    public String toString() {
        return count + " selections, min relative gap " + minGap();
    }
}
