package dev.thanosj.prune;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.Metric;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.util.Arrays;

/**
 * Magnitude pruning ({@code ALGORITHMS.md}, baselines): unstructured, the {@code floor(p·rows·cols)}
 * smallest {@code |W|} over the whole layer (ties: lower flat index), by the linear-time region selection;
 * n:m, the n smallest of every group. Scores are {@code |w| · 1}, i.e. exactly {@code |w|}. No weight is
 * updated.
 */
final class Magnitude {
    private Magnitude() {
    }

    /** Zeroes the pruned entries of {@code weights} in place. */
    static void prune(FloatMatrix weights, Pattern pattern, Linalg linalg, Kernels kernels) {
        int cols = weights.cols();
        int words = (cols + 63) >>> 6;
        float[] ones = new float[cols];
        Arrays.fill(ones, 1f);
        switch (pattern) {
            case Pattern.Unstructured u -> {
                long k = Counts.floor(u.sparsity() * weights.rows() * (double) cols);
                Selection.Threshold t = Selection.smallest(kernels, linalg, weights, ones, 0, Metric.ABS_SCALED, k);
                LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
                    long[] mask = new long[Math.max(1, words)];
                    for (int r = r0; r < r1; r++) {
                        kernels.markSelected(weights.row(r), ones, 0, cols, Metric.ABS_SCALED, t.bits(),
                                t.tieColumns(r, cols), mask, 0);
                        kernels.zeroMasked(weights.row(r), cols, mask, 0);
                    }
                });
            }
            case Pattern.NOfM nm -> LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
                long[] mask = new long[Math.max(1, words)];
                for (int r = r0; r < r1; r++) {
                    kernels.nOfMMask(weights.row(r), ones, 0, cols, Metric.ABS_SCALED, nm.n(), nm.m(), mask, 0);
                    kernels.zeroMasked(weights.row(r), cols, mask, 0);
                }
            });
            case Pattern.Structured s -> throw new IllegalArgumentException("magnitude has no structured variant");
        }
    }
}
