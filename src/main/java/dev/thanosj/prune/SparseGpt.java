package dev.thanosj.prune;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * SparseGPT ({@code ALGORITHMS.md}, baselines), with {@code U} the upper Cholesky factor of {@code H⁻¹}.
 * Per block {@code [i1, i2)}: the mask (unstructured: every score {@code W_ij² / U_jj²} at most the
 * {@code floor(p·rows·(i2−i1))}-th smallest, 0-based, of the block; n:m: chosen per group when the column
 * loop reaches the group's first column), the column-by-column OBS loop
 * ({@code err = (w_j − q_j) / U_jj}, {@code W1[:, j:] −= err ⊗ U[j, j:]}) — independent per row, so rows
 * run in parallel — and the lazy update {@code W[:, i2:] −= Err · U[i1:i2, i2:]} as one GEMM.
 */
final class SparseGpt {
    private SparseGpt() {
    }

    /** Prunes {@code weights} in place given {@code u}; temporaries live in {@code arena}. */
    static void prune(FloatMatrix weights, FloatMatrix u, PruneSpec spec, Linalg linalg, Arena arena) {
        int rows = weights.rows();
        int cols = weights.cols();
        int blockSize = Math.min(spec.blockSize(), cols);
        FloatMatrix err = FloatMatrix.allocate(arena, rows, blockSize);
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int width = i2 - i1;
            FloatMatrix w1 = weights.columns(i1, i2);
            FloatMatrix u11 = u.view(i1, i1, width, width);
            float[] d = new float[width];
            for (int j = 0; j < width; j++) {
                d[j] = u11.get(j, j);
            }
            int limitBits = spec.pattern() instanceof Pattern.Unstructured un ? unstructuredLimit(w1, d, un) : -1;
            FloatMatrix errBlock = err.columns(0, width);
            LayerMath.parallelRows(linalg, rows, (r0, r1) -> {
                boolean[] pruned = new boolean[width];
                int m = spec.pattern() instanceof Pattern.NOfM nm ? nm.m() : 1;
                float[] groupScores = new float[width];
                int[] order = new int[m];
                for (int r = r0; r < r1; r++) {
                    MemorySegment row = w1.row(r);
                    if (limitBits >= 0) {
                        for (int j = 0; j < width; j++) {
                            pruned[j] = Selection.bits(score(row.getAtIndex(JAVA_FLOAT, j), d[j])) <= limitBits;
                        }
                    }
                    obsColumnLoop(row, errBlock.row(r), u11, d, spec.pattern(), pruned, groupScores, order);
                }
            });
            if (i2 < cols) {
                linalg.gemm(false, false, -1f, errBlock, u.view(i1, i2, width, cols - i2), 1f,
                        weights.columns(i2, cols));
            }
        }
    }

    /** The score bits at or below which an entry of the block is pruned (unstructured). */
    private static int unstructuredLimit(FloatMatrix w1, float[] d, Pattern.Unstructured pattern) {
        long entries = (long) w1.rows() * w1.cols();
        long k = Math.min(entries - 1, Counts.floor(pattern.sparsity() * entries));
        Selection.Scores scores = (r, c) -> score(w1.get(r, c), d[c]);
        return Selection.smallest(w1.rows(), w1.cols(), scores, k + 1).bits();
    }

    /** SparseGPT's saliency {@code w² / d²}, in float as the published code computes it. */
    private static float score(float w, float d) {
        return (w * w) / (d * d);
    }

    /**
     * The OBS loop of one row of a block, in place: column j is pruned or kept, its error spread over
     * the later columns of the block, and {@code errRow[j]} recorded for the lazy update.
     */
    private static void obsColumnLoop(MemorySegment row, MemorySegment errRow, FloatMatrix u11, float[] d,
            Pattern pattern, boolean[] pruned, float[] groupScores, int[] order) {
        int width = d.length;
        for (int j = 0; j < width; j++) {
            if (pattern instanceof Pattern.NOfM nm && j % nm.m() == 0) {
                for (int c = j; c < j + nm.m(); c++) {
                    groupScores[c] = score(row.getAtIndex(JAVA_FLOAT, c), d[c]);
                }
                Selection.smallestInGroups(groupScores, j, j + nm.m(), nm.n(), nm.m(), pruned, order);
            }
            float w = row.getAtIndex(JAVA_FLOAT, j);
            float q = pruned[j] ? 0f : w;
            float e = (w - q) / d[j];
            MemorySegment uRow = u11.row(j);
            for (int c = j + 1; c < width; c++) {
                row.setAtIndex(JAVA_FLOAT, c, row.getAtIndex(JAVA_FLOAT, c) - e * uRow.getAtIndex(JAVA_FLOAT, c));
            }
            row.setAtIndex(JAVA_FLOAT, j, q);
            errRow.setAtIndex(JAVA_FLOAT, j, e);
        }
    }
}
