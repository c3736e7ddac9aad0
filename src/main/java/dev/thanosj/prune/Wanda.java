package dev.thanosj.prune;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Wanda ({@code ALGORITHMS.md}, baselines): metric {@code M_ij = |W_ij|·sqrt(s_j)}; unstructured, the
 * {@code floor(p·cols)} smallest of every row; n:m, the n smallest of every group. Structured (not in the
 * published Wanda; defined here so Thanos structured has a baseline): the same columns as Thanos
 * structured removes ({@link LayerMath#structuredColumns}), zeroed in the non-outlier rows, no update.
 */
final class Wanda {
    private Wanda() {
    }

    /** Zeroes the pruned entries of {@code weights} in place. */
    static void prune(FloatMatrix weights, LayerStatistics stats, PruneSpec spec, Linalg linalg) {
        int cols = weights.cols();
        float[] sqrtS = LayerMath.sqrtScaler(stats);
        if (spec.pattern() instanceof Pattern.Structured st) {
            boolean[] outlier = LayerMath.outlierRows(weights, stats, spec.alpha());
            boolean[] removed = LayerMath.structuredColumns(weights, stats, outlier, st.sparsity(), spec.alpha());
            for (int r = 0; r < weights.rows(); r++) {
                if (!outlier[r]) {
                    Magnitude.zeroSelected(weights.row(r), removed, cols);
                }
            }
            return;
        }
        LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
            float[] scores = new float[cols];
            boolean[] selected = new boolean[cols];
            long[] keys = new long[cols];
            int[] order = spec.pattern() instanceof Pattern.NOfM nm ? new int[nm.m()] : null;
            for (int r = r0; r < r1; r++) {
                MemorySegment w = weights.row(r);
                for (int c = 0; c < cols; c++) {
                    scores[c] = Math.abs(w.getAtIndex(JAVA_FLOAT, c)) * sqrtS[c];
                }
                switch (spec.pattern()) {
                    case Pattern.Unstructured u -> Selection.smallestInRow(scores, cols,
                            (int) Counts.floor(u.sparsity() * cols), selected, keys);
                    case Pattern.NOfM nm -> Selection.smallestInGroups(scores, 0, cols, nm.n(), nm.m(), selected, order);
                    case Pattern.Structured s -> throw new AssertionError("handled above");
                }
                Magnitude.zeroSelected(w, selected, cols);
            }
        });
    }
}
