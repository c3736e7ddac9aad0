package dev.thanosj.prune;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Magnitude pruning ({@code ALGORITHMS.md}, baselines): unstructured, the {@code floor(p·rows·cols)}
 * smallest {@code |W|} over the whole layer (ties: lower flat index); n:m, the n smallest of every group.
 * No weight is updated.
 */
final class Magnitude {
    private Magnitude() {
    }

    /** Zeroes the pruned entries of {@code weights} in place. */
    static void prune(FloatMatrix weights, Pattern pattern, Linalg linalg) {
        switch (pattern) {
            case Pattern.Unstructured u -> {
                long k = Counts.floor(u.sparsity() * weights.rows() * (double) weights.cols());
                Selection.Scores scores = (r, c) -> Math.abs(weights.get(r, c));
                Selection.Threshold t = Selection.smallest(weights.rows(), weights.cols(), scores, k);
                Selection.forEachSelected(weights.rows(), weights.cols(), scores, t, (r, c) -> weights.set(r, c, 0f));
            }
            case Pattern.NOfM nm -> LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
                int cols = weights.cols();
                float[] scores = new float[cols];
                boolean[] selected = new boolean[cols];
                int[] order = new int[nm.m()];
                for (int r = r0; r < r1; r++) {
                    MemorySegment w = weights.row(r);
                    for (int c = 0; c < cols; c++) {
                        scores[c] = Math.abs(w.getAtIndex(JAVA_FLOAT, c));
                    }
                    Selection.smallestInGroups(scores, 0, cols, nm.n(), nm.m(), selected, order);
                    zeroSelected(w, selected, cols);
                }
            });
            case Pattern.Structured s -> throw new IllegalArgumentException("magnitude has no structured variant");
        }
    }

    /** Sets {@code row[c] = 0} wherever {@code selected[c]}, in place. */
    static void zeroSelected(MemorySegment row, boolean[] selected, int cols) {
        for (int c = 0; c < cols; c++) {
            if (selected[c]) {
                row.setAtIndex(JAVA_FLOAT, c, 0f);
            }
        }
    }
}
