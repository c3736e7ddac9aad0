package dev.thanosj.prune;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.Metric;
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
 * run in parallel, each on a copy of its block row in L1 with vectorised updates — and the lazy update
 * {@code W[:, i2:] −= Err · U[i1:i2, i2:]} as one GEMM.
 */
final class SparseGpt {
    private SparseGpt() {
    }

    /**
     * Prunes {@code weights} in place given {@code u}; scratch in U's free lower triangle or {@code arena}.
     * Returns {@code ‖Err‖²_F}, which is {@code tr(ΔW H_d ΔWᵀ)} since {@code ΔW = −Err·U}.
     */
    static double prune(FloatMatrix weights, FloatMatrix u, PruneSpec spec, Linalg linalg, Kernels kernels,
            Arena arena, Phases phases) {
        int rows = weights.rows();
        int cols = weights.cols();
        int blockSize = Math.min(spec.blockSize(), cols);
        FloatMatrix err = Workspace.scratch(u, rows, blockSize, blockSize, arena);
        float[] u11 = new float[blockSize * blockSize];
        float[] d = new float[blockSize];
        float[] dd = new float[blockSize];
        double[] energy = new double[rows];
        double total = 0;
        phases.lap("prepare");
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int width = i2 - i1;
            java.util.Arrays.fill(u11, 0f);
            for (int j = 0; j < width; j++) { // the upper triangle of U11, on the heap (deliberate: 64 KB)
                MemorySegment.copy(u.segment(), JAVA_FLOAT, u.byteOffset(i1 + j, i1 + j), u11, j * width + j, width - j);
                d[j] = u11[j * width + j];
                dd[j] = d[j] * d[j];
            }
            int limitBits = spec.pattern() instanceof Pattern.Unstructured un
                    ? unstructuredLimit(weights.columns(i1, i2), dd, un, linalg, kernels) : -1;
            phases.lap("mask");
            FloatMatrix errBlock = err.columns(0, width);
            int from = i1;
            LayerMath.parallelRows(linalg, rows, (r0, r1) -> {
                int words = (width + 63) >>> 6;
                long[] pruned = new long[words];
                float[] row = new float[width];
                float[] errRow = new float[width];
                for (int r = r0; r < r1; r++) {
                    MemorySegment w1 = Thanos.segment(weights, r, from, width);
                    if (limitBits >= 0) {
                        kernels.markSelected(w1, dd, 0, width, Metric.SQUARE_OVER, limitBits, width, pruned, 0);
                    }
                    MemorySegment.copy(w1, JAVA_FLOAT, 0, row, 0, width);
                    energy[r] = obsColumnLoop(row, errRow, u11, d, dd, spec.pattern(), pruned, kernels);
                    MemorySegment.copy(row, 0, w1, JAVA_FLOAT, 0, width);
                    MemorySegment.copy(errRow, 0, errBlock.row(r), JAVA_FLOAT, 0, width);
                }
            });
            for (int r = 0; r < rows; r++) {
                total += energy[r];
            }
            phases.lap("solve");
            if (i2 < cols) {
                linalg.gemm(false, false, -1f, errBlock, u.view(i1, i2, width, cols - i2), 1f,
                        weights.columns(i2, cols));
            }
            phases.lap("update");
        }
        Workspace.release(err);
        return total;
    }

    /** The score bits at or below which an entry of the block is pruned (unstructured). */
    private static int unstructuredLimit(FloatMatrix w1, float[] dd, Pattern.Unstructured pattern, Linalg linalg,
            Kernels kernels) {
        long entries = (long) w1.rows() * w1.cols();
        if (entries == 0) {
            return -1;
        }
        long k = Math.min(entries - 1, Counts.floor(pattern.sparsity() * entries));
        return Selection.smallest(kernels, linalg, w1, dd, 0, Metric.SQUARE_OVER, k + 1).bits();
    }

    /**
     * The OBS loop of one block row, in place on {@code row}: column j is pruned or kept, its error spread
     * over the later columns of the block, and {@code errRow[j]} recorded for the lazy update. Returns
     * {@code Σ err²}.
     */
    private static double obsColumnLoop(float[] row, float[] errRow, float[] u11, float[] d, float[] dd,
            Pattern pattern, long[] pruned, Kernels kernels) {
        int width = row.length;
        double energy = 0;
        for (int j = 0; j < width; j++) {
            if (pattern instanceof Pattern.NOfM nm && j % nm.m() == 0) {
                groupMask(row, dd, j, nm, pruned);
            }
            float w = row[j];
            boolean prune = (pruned[j >>> 6] & (1L << j)) != 0;
            float q = prune ? 0f : w;
            float e = (w - q) / d[j];
            if (e != 0f) {
                kernels.subtractScaled(row, j + 1, u11, j * width + j + 1, e, width - j - 1);
            }
            row[j] = q;
            errRow[j] = e;
            energy += (double) e * e;
        }
        return energy;
    }

    /** The n smallest scores of the group starting at column g (ties: lower column), into {@code pruned}. */
    private static void groupMask(float[] row, float[] dd, int g, Pattern.NOfM nm, long[] pruned) {
        int m = nm.m();
        for (int i = 0; i < m; i++) {
            int bi = Metric.SQUARE_OVER.bits(row[g + i], dd[g + i]);
            int rank = 0;
            for (int j = 0; j < m; j++) {
                int bj = Metric.SQUARE_OVER.bits(row[g + j], dd[g + j]);
                if (bj < bi || (bj == bi && j < i)) {
                    rank++;
                }
            }
            int c = g + i;
            if (rank < nm.n()) {
                pruned[c >>> 6] |= 1L << c;
            } else {
                pruned[c >>> 6] &= ~(1L << c);
            }
        }
    }
}
