package dev.thanosj.prune;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.Metric;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;

/**
 * Wanda ({@code ALGORITHMS.md}, baselines): metric {@code M_ij = |W_ij|·sqrt(s_j)}; unstructured, the
 * {@code floor(p·cols)} smallest of every row; n:m, the n smallest of every group. Structured (not in the
 * published Wanda; defined here so Thanos structured has a baseline): the same columns as Thanos
 * structured removes ({@link LayerMath#structuredColumns}), zeroed in the non-outlier rows, no update.
 * Rows run in parallel; every row is one vectorised score pass, a selection, and a masked zeroing.
 */
final class Wanda {
    private Wanda() {
    }

    /** Zeroes the pruned entries of {@code weights} in place. */
    static void prune(FloatMatrix weights, LayerStatistics stats, PruneSpec spec, Linalg linalg, Kernels kernels) {
        int cols = weights.cols();
        float[] sqrtS = LayerMath.sqrtScaler(stats);
        int words = (cols + 63) >>> 6;
        if (spec.pattern() instanceof Pattern.Structured st) {
            boolean[] outlier = LayerMath.outlierRows(weights, stats, spec.alpha());
            boolean[] removed = LayerMath.structuredColumns(weights, stats, outlier, st.sparsity(), spec.alpha());
            long[] mask = new long[Math.max(1, words)];
            for (int c = 0; c < cols; c++) {
                if (removed[c]) {
                    mask[c >>> 6] |= 1L << c;
                }
            }
            LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    if (!outlier[r]) {
                        kernels.zeroMasked(weights.row(r), cols, mask, 0);
                    }
                }
            });
            return;
        }
        LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
            long[] mask = new long[Math.max(1, words)];
            int[] bits = new int[cols];
            long[] copy = new long[cols];
            for (int r = r0; r < r1; r++) {
                MemorySegment w = weights.row(r);
                switch (spec.pattern()) {
                    case Pattern.Unstructured u -> Selection.smallestInRow(kernels, w, sqrtS, 0, cols,
                            Metric.ABS_SCALED, (int) Counts.floor(u.sparsity() * cols), bits, copy, mask, 0);
                    case Pattern.NOfM nm -> kernels.nOfMMask(w, sqrtS, 0, cols, Metric.ABS_SCALED, nm.n(), nm.m(),
                            mask, 0);
                    case Pattern.Structured s -> throw new AssertionError("handled above");
                }
                kernels.zeroMasked(w, cols, mask, 0);
            }
        });
    }
}
