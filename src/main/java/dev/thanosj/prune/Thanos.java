package dev.thanosj.prune;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Thanos ({@code ALGORITHMS.md}: "Thanos, unstructured", "Thanos, n:m", "Thanos, structured"), in the fast
 * formulation: with {@code U} the upper Cholesky factor of {@code H⁻¹}, a block {@code [i1, i2)} needs only
 * {@code G_block = U[i1:i2, i1:i2]ᵀ · U[i1:i2, i1:]}; each row solves its own small system
 * {@code R̂ λ = w_Q} with {@code R̂ = G_block[Q, Q]}, and all rows are updated at once by
 * {@code W[:, i1:] −= (Λ · U[i1:i2, i1:i2]ᵀ) · U[i1:i2, i1:]} (one TRMM, one GEMM). No inverse is
 * recomputed per block.
 */
final class Thanos {
    private Thanos() {
    }

    /**
     * Unstructured or n:m Thanos on {@code weights} (modified in place), given {@code u}; temporaries in
     * {@code arena}.
     */
    static void pruneBlocks(FloatMatrix weights, LayerStatistics stats, FloatMatrix u, PruneSpec spec,
            Linalg linalg, Arena arena) {
        int rows = weights.rows();
        int cols = weights.cols();
        int blockSize = Math.min(spec.blockSize(), cols);
        float[] sqrtS = LayerMath.sqrtScaler(stats);
        boolean[] outlier = LayerMath.outlierRows(weights, stats, spec.alpha());
        long target = spec.pattern() instanceof Pattern.Unstructured un
                ? Counts.floor(un.sparsity() * rows * (double) cols) : 0;
        long done = 0;
        FloatMatrix lambda = FloatMatrix.allocate(arena, rows, blockSize);
        FloatMatrix gram = FloatMatrix.allocate(arena, blockSize, blockSize);
        boolean[] mask = new boolean[rows * blockSize];
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int width = i2 - i1;
            java.util.Arrays.fill(mask, false);
            if (spec.pattern() instanceof Pattern.NOfM nm) {
                nOfMMask(weights, sqrtS, outlier, nm, i1, i2, mask);
            } else {
                done += dynamicMask(weights, sqrtS, i1, i2, target - done, mask);
            }
            FloatMatrix u11 = u.view(i1, i1, width, width);
            FloatMatrix g11 = gram.view(0, 0, width, width);
            linalg.gemm(true, false, 1f, u11, u11, 0f, g11);
            FloatMatrix lambdaBlock = lambda.columns(0, width);
            solveRows(weights, g11, i1, width, mask, lambdaBlock, linalg);
            linalg.trmm(Side.RIGHT, Triangle.UPPER, true, 1f, u11, lambdaBlock);
            linalg.gemm(false, false, -1f, lambdaBlock, u.view(i1, i1, width, cols - i1), 1f,
                    weights.columns(i1, cols));
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < width; c++) {
                    if (mask[r * width + c]) {
                        weights.set(r, i1 + c, 0f);
                    }
                }
            }
        }
    }

    /**
     * Step 1 of unstructured Thanos: among all entries of {@code W[:, i1:]}, the {@code remaining} smallest
     * Wanda metrics; marks the ones inside {@code [i1, i2)} and returns how many they are.
     */
    private static long dynamicMask(FloatMatrix weights, float[] sqrtS, int i1, int i2, long remaining,
            boolean[] mask) {
        int width = i2 - i1;
        FloatMatrix region = weights.columns(i1, weights.cols());
        Selection.Scores scores = (r, c) -> Math.abs(region.get(r, c)) * sqrtS[i1 + c];
        Selection.Threshold t = Selection.smallest(region.rows(), region.cols(), scores, remaining);
        long[] inBlock = {0};
        Selection.forEachSelected(region.rows(), region.cols(), scores, t, (r, c) -> {
            if (c < width) {
                mask[r * width + c] = true;
                inBlock[0]++;
            }
        });
        return inBlock[0];
    }

    /** The n:m mask of block {@code [i1, i2)}: in each group of every non-outlier row, the n smallest metrics. */
    private static void nOfMMask(FloatMatrix weights, float[] sqrtS, boolean[] outlier, Pattern.NOfM nm, int i1,
            int i2, boolean[] mask) {
        int width = i2 - i1;
        float[] scores = new float[width];
        boolean[] selected = new boolean[width];
        int[] order = new int[nm.m()];
        for (int r = 0; r < weights.rows(); r++) {
            if (outlier[r]) {
                continue;
            }
            MemorySegment row = weights.row(r);
            for (int c = 0; c < width; c++) {
                scores[c] = Math.abs(row.getAtIndex(JAVA_FLOAT, i1 + c)) * sqrtS[i1 + c];
            }
            Selection.smallestInGroups(scores, 0, width, nm.n(), nm.m(), selected, order);
            System.arraycopy(selected, 0, mask, r * width, width);
        }
    }

    /**
     * Step 2, per row: solves {@code R̂ λ = w_Q} with {@code R̂ = G11[Q, Q]} and writes λ into the row's
     * pruned positions of {@code lambda} (zeros elsewhere). Rows run in parallel.
     */
    private static void solveRows(FloatMatrix weights, FloatMatrix g11, int i1, int width, boolean[] mask,
            FloatMatrix lambda, Linalg linalg) {
        lambda.fill(0f);
        LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
            int[] q = new int[width];
            try (Arena scratch = Arena.ofConfined()) {
                FloatMatrix rhat = FloatMatrix.allocate(scratch, width, width);
                FloatMatrix rhs = FloatMatrix.allocate(scratch, width, 1);
                for (int r = r0; r < r1; r++) {
                    int k = 0;
                    for (int c = 0; c < width; c++) {
                        if (mask[r * width + c]) {
                            q[k++] = c;
                        }
                    }
                    if (k == 0) {
                        continue;
                    }
                    FloatMatrix a = FloatMatrix.wrap(rhat.segment(), k, k, k);
                    FloatMatrix b = rhs.view(0, 0, k, 1);
                    for (int x = 0; x < k; x++) {
                        for (int y = 0; y < k; y++) {
                            a.set(x, y, g11.get(q[x], q[y]));
                        }
                        b.set(x, 0, weights.get(r, i1 + q[x]));
                    }
                    linalg.posv(a, b);
                    for (int x = 0; x < k; x++) {
                        lambda.set(r, q[x], b.get(x, 0));
                    }
                }
            }
        });
    }

    /**
     * Structured Thanos on {@code weights} (modified in place) given {@code g = H⁻¹}: removes the columns
     * {@link LayerMath#structuredColumns} chooses from the non-outlier rows P with one multi-weight OBS
     * removal, {@code W[P, :] −= W[P, Q] · R̂⁻¹ · G[Q, :]}, then {@code W[P, Q] = 0}.
     */
    static void pruneStructured(FloatMatrix weights, LayerStatistics stats, FloatMatrix g, PruneSpec spec,
            Linalg linalg, Arena arena) {
        Pattern.Structured pattern = (Pattern.Structured) spec.pattern();
        int cols = weights.cols();
        boolean[] outlier = LayerMath.outlierRows(weights, stats, spec.alpha());
        boolean[] removed = LayerMath.structuredColumns(weights, stats, outlier, pattern.sparsity(), spec.alpha());
        int[] q = java.util.stream.IntStream.range(0, cols).filter(j -> removed[j]).toArray();
        int[] kept = java.util.stream.IntStream.range(0, weights.rows()).filter(r -> !outlier[r]).toArray();
        int b = q.length;
        if (b == 0 || kept.length == 0) {
            return;
        }
        FloatMatrix rhat = FloatMatrix.allocate(arena, b, b);
        FloatMatrix y = FloatMatrix.allocate(arena, b, cols);
        for (int x = 0; x < b; x++) {
            for (int z = 0; z < b; z++) {
                rhat.set(x, z, g.get(q[x], q[z]));
            }
            y.row(x).copyFrom(g.row(q[x]));
        }
        linalg.posv(rhat, y);
        int chunk = 256;
        FloatMatrix wpq = FloatMatrix.allocate(arena, Math.min(chunk, kept.length), b);
        FloatMatrix delta = FloatMatrix.allocate(arena, Math.min(chunk, kept.length), cols);
        for (int p0 = 0; p0 < kept.length; p0 += chunk) {
            int n = Math.min(chunk, kept.length - p0);
            for (int i = 0; i < n; i++) {
                for (int x = 0; x < b; x++) {
                    wpq.set(i, x, weights.get(kept[p0 + i], q[x]));
                }
            }
            FloatMatrix d = delta.rows(0, n);
            linalg.gemm(false, false, 1f, wpq.rows(0, n), y, 0f, d);
            for (int i = 0; i < n; i++) {
                int r = kept[p0 + i];
                for (int c = 0; c < cols; c++) {
                    weights.set(r, c, removed[c] ? 0f : weights.get(r, c) - d.get(i, c));
                }
            }
        }
    }
}
