package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import dev.thanosj.kernels.Kernels;
import dev.thanosj.kernels.Metric;
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
     * Unstructured or n:m Thanos on {@code weights} (modified in place), given {@code u}; per-block scratch
     * in U's free lower triangle or {@code arena}. Returns {@code ‖E‖²_F} with {@code E} the blocks'
     * {@code Λ · U11ᵀ} side by side: since {@code ΔW = −E U} and {@code U H_d Uᵀ = I}, it is
     * {@code tr(ΔW H_d ΔWᵀ)} for the damped H, from which the loss follows without another GEMM.
     */
    static double pruneBlocks(FloatMatrix weights, LayerStatistics stats, FloatMatrix u, PruneSpec spec,
            Linalg linalg, Kernels kernels, Arena arena, Phases phases) {
        int rows = weights.rows();
        int cols = weights.cols();
        int blockSize = Math.min(spec.blockSize(), cols);
        float[] sqrtS = LayerMath.sqrtScaler(stats);
        boolean[] outlier = LayerMath.outlierRows(weights, stats, spec.alpha());
        long target = spec.pattern() instanceof Pattern.Unstructured un
                ? Counts.floor(un.sparsity() * rows * (double) cols) : 0;
        long done = 0;
        int words = (blockSize + 63) >>> 6;
        long[] mask = new long[Math.max(1, rows * words)];
        int[] selected = new int[rows];
        int[] pruned = new int[rows];
        float[] gram = new float[blockSize * blockSize];
        float[] complementGram = new float[blockSize * blockSize];
        FloatMatrix scratch = Workspace.scratch(u, rows + 2 * blockSize, blockSize, blockSize, arena);
        FloatMatrix lambda = scratch.rows(0, rows);
        FloatMatrix gramMatrix = scratch.view(rows, 0, blockSize, blockSize);
        FloatMatrix inverseMatrix = scratch.view(rows + blockSize, 0, blockSize, blockSize);
        double energy = 0;
        phases.lap("prepare");
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int width = i2 - i1;
            int from = i1;
            if (spec.pattern() instanceof Pattern.NOfM nm) {
                LayerMath.parallelRows(linalg, rows, (r0, r1) -> {
                    for (int r = r0; r < r1; r++) {
                        if (outlier[r]) {
                            java.util.Arrays.fill(mask, r * words, (r + 1) * words, 0L);
                        } else {
                            kernels.nOfMMask(segment(weights, r, from, width), sqrtS, from, width, Metric.ABS_SCALED,
                                    nm.n(), nm.m(), mask, r * words);
                        }
                    }
                });
            } else {
                FloatMatrix region = weights.columns(i1, cols);
                Selection.Threshold t = Selection.smallest(kernels, linalg, region, sqrtS, i1, Metric.ABS_SCALED,
                        target - done);
                int regionCols = cols - i1;
                LayerMath.parallelRows(linalg, rows, (r0, r1) -> {
                    for (int r = r0; r < r1; r++) {
                        selected[r] = kernels.markSelected(segment(weights, r, from, width), sqrtS, from, width,
                                Metric.ABS_SCALED, t.bits(), t.tieColumns(r, regionCols), mask, r * words);
                    }
                });
                for (int r = 0; r < rows; r++) {
                    done += selected[r];
                }
            }
            phases.lap("mask");
            FloatMatrix u11 = u.view(i1, i1, width, width);
            FloatMatrix g11 = gramMatrix.view(0, 0, width, width);
            linalg.gemm(true, false, 1f, u11, u11, 0f, g11);
            for (int x = 0; x < width; x++) {
                MemorySegment.copy(g11.row(x), JAVA_FLOAT, 0, gram, x * width, width);
            }
            boolean complement = countPruned(mask, rows, words, width, pruned) > width / 2;
            if (complement) { // M = G11⁻¹ = V Vᵀ with V = U11⁻¹
                FloatMatrix v = gramMatrix.view(0, 0, width, width);
                v.copyFrom(u11);
                HessianPreparation.invertUpper(v, linalg);
                FloatMatrix m = inverseMatrix.view(0, 0, width, width);
                linalg.gemm(false, true, 1f, v, v, 0f, m);
                for (int x = 0; x < width; x++) {
                    MemorySegment.copy(m.row(x), JAVA_FLOAT, 0, complementGram, x * width, width);
                }
            }
            FloatMatrix lambdaBlock = lambda.columns(0, width);
            solveRows(weights, gram, complement ? complementGram : null, i1, width, mask, words, pruned, lambdaBlock,
                    linalg, kernels);
            phases.lap("solve");
            linalg.trmm(Side.RIGHT, Triangle.UPPER, true, 1f, u11, lambdaBlock);
            for (int r = 0; r < rows; r++) {
                energy += kernels.sumSquares(lambdaBlock.row(r), width);
            }
            linalg.gemm(false, false, -1f, lambdaBlock, u.view(i1, i1, width, cols - i1), 1f,
                    weights.columns(i1, cols));
            LayerMath.parallelRows(linalg, rows, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    kernels.zeroMasked(segment(weights, r, from, width), width, mask, r * words);
                }
            });
            phases.lap("update");
        }
        Workspace.release(scratch);
        return energy;
    }

    /** Sets {@code pruned[r]} to the number of pruned entries of row r in the block's mask; returns the largest. */
    private static int countPruned(long[] mask, int rows, int words, int width, int[] pruned) {
        int max = 0;
        for (int r = 0; r < rows; r++) {
            int k = 0;
            for (int w = 0; w < (width + 63) >>> 6; w++) { // a narrower last block leaves stale words
                k += Long.bitCount(mask[r * words + w]);
            }
            pruned[r] = k;
            max = Math.max(max, k);
        }
        return max;
    }

    /** The bits of mask word w that stand for one of a block's {@code width} columns. */
    private static long validBits(int width, int w) {
        int left = width - 64 * w;
        return left >= 64 ? -1L : (1L << left) - 1;
    }

    /** Columns {@code [from, from + width)} of row r, as a segment. */
    static MemorySegment segment(FloatMatrix m, int r, int from, int width) {
        return m.segment().asSlice(m.byteOffset(r, from), (long) width * Float.BYTES);
    }

    /**
     * Step 2: every row with a non-empty Q solves {@code R̂ λ = w_Q}, {@code R̂ = G11[Q, Q]}; λ goes to the
     * row's pruned positions of {@code lambda} (zeros elsewhere). Rows run in parallel ranges with the BLAS
     * capped to one thread; inside a range, rows are ordered by |Q| and solved {@link Kernels#batchLanes()}
     * at a time (SIMD across rows); {@code pruned[r]} is row r's |Q|. Scratch is allocated per range, never
     * per row.
     *
     * <p>With {@code inverse = M = G11⁻¹}, the rows that prune more than they keep are batched apart and
     * solved through the kept set F instead ({@link #solveComplement}): a system of size {@code |F| < |Q|},
     * so no row costs more than {@code (B/2)³/3}. A row's path depends on its own mask only, so the result
     * does not depend on how the rows are split into ranges (that is, on the thread count).
     */
    private static void solveRows(FloatMatrix weights, float[] gram, float[] inverse, int i1, int width, long[] mask,
            int words, int[] pruned, FloatMatrix lambda, Linalg linalg, Kernels kernels) {
        int lanes = kernels.batchLanes();
        LayerMath.parallelRows(linalg, weights.rows(), (r0, r1) -> {
            int[] indices = new int[width + lanes];
            float[] values = new float[width + lanes];
            int[] q = new int[width * lanes];
            float[] rhs = new float[width * lanes];
            float[] work = new float[kernels.spdWorkSize(width)];
            int[] count = new int[width + 2];
            int[] sizes = new int[r1 - r0];
            int[] order = new int[r1 - r0];
            int[] batch = new int[lanes];
            float[] product = inverse == null ? null : new float[width * lanes];
            float[] full = inverse == null ? null : new float[width * lanes];
            for (int r = r0; r < r1; r++) {
                lambda.row(r).fill((byte) 0);
                int k = pruned[r];
                sizes[r - r0] = k;
                count[k + 1]++;
            }
            for (int k = 1; k <= width + 1; k++) { // counting sort of the rows by |Q|
                count[k] += count[k - 1];
            }
            for (int i = 0; i < r1 - r0; i++) {
                order[count[sizes[i]]++] = i;
            }
            int start = 0;
            while (start < order.length && sizes[order[start]] == 0) {
                start++;
            }
            // rows pruning more than half the block (the tail of the order) go through their kept sets; each
            // row's path depends on its own |Q| only, not on the batch it lands in
            int split = start;
            while (split < order.length && (inverse == null || sizes[order[split]] <= width / 2)) {
                split++;
            }
            for (int b0 = start, n; b0 < order.length; b0 += n) {
                n = Math.min(lanes, (b0 < split ? split : order.length) - b0);
                int k = sizes[order[b0 + n - 1]];
                if (b0 >= split) {
                    for (int lane = 0; lane < n; lane++) {
                        batch[lane] = r0 + order[b0 + lane];
                    }
                    solveComplement(weights, inverse, i1, width, mask, words, batch, n, full, product, q, rhs, work,
                            indices, values, lambda, kernels);
                    continue;
                }
                java.util.Arrays.fill(q, 0, k * lanes, -1);
                java.util.Arrays.fill(rhs, 0, k * lanes, 0f);
                for (int lane = 0; lane < n; lane++) {
                    int r = r0 + order[b0 + lane];
                    batch[lane] = r;
                    int kr = kernels.gatherMasked(segment(weights, r, i1, width), width, mask, r * words, indices,
                            values);
                    for (int x = 0; x < kr; x++) {
                        q[x * lanes + lane] = indices[x];
                        rhs[x * lanes + lane] = values[x];
                    }
                }
                if (!kernels.spdSolveBatch(gram, width, q, k, rhs, work)) {
                    throw new ThanosjException("row " + batch[0] + "..: the block's R̂ = G[Q, Q] is not numerically "
                            + "positive definite; try a larger --perc-damp");
                }
                for (int lane = 0; lane < n; lane++) {
                    int kr = sizes[batch[lane] - r0];
                    for (int x = 0; x < kr; x++) {
                        indices[x] = q[x * lanes + lane];
                        values[x] = rhs[x * lanes + lane];
                    }
                    kernels.scatter(lambda.row(batch[lane]), indices, values, kr);
                }
            }
        });
    }

    /**
     * The rows {@code batch[0..n)} through their kept sets: with {@code M = G11⁻¹} and F the kept entries of
     * a row, {@code G11[Q, Q]⁻¹ = M_QQ − M_QF M_FF⁻¹ M_FQ} (the Schur complement). So {@code λ = (M x)_Q}
     * where {@code x_Q = w_Q} and {@code x_F = −y}, {@code M_FF y = (M w̃)_F} ({@code w̃} = w on Q, 0 on F).
     * Two {@link Kernels#multiplyBatch} products of {@code B²} and one SPD solve of size {@code |F|}.
     * Scratch: x, z ({@code B·L} each), q/rhs/work as the direct solve's.
     */
    private static void solveComplement(FloatMatrix weights, float[] inverse, int i1, int width, long[] mask, int words,
            int[] batch, int n, float[] x, float[] z, int[] q, float[] rhs, float[] work, int[] indices, float[] values,
            FloatMatrix lambda, Kernels kernels) {
        int lanes = kernels.batchLanes();
        java.util.Arrays.fill(x, 0f);
        int kept = 0;
        for (int lane = 0; lane < n; lane++) {
            int r = batch[lane];
            int k = kernels.gatherMasked(segment(weights, r, i1, width), width, mask, r * words, indices, values);
            for (int i = 0; i < k; i++) {
                x[indices[i] * lanes + lane] = values[i];
            }
            kept = Math.max(kept, width - k);
        }
        java.util.Arrays.fill(q, 0, kept * lanes, -1);
        java.util.Arrays.fill(rhs, 0, kept * lanes, 0f);
        kernels.multiplyBatch(inverse, width, x, z);
        int used = (width + 63) >>> 6;
        for (int lane = 0; lane < n; lane++) {
            int r = batch[lane];
            int f = 0;
            for (int w = 0; w < used; w++) {
                long keptBits = ~mask[r * words + w] & validBits(width, w);
                for (; keptBits != 0; keptBits &= keptBits - 1) {
                    int c = 64 * w + Long.numberOfTrailingZeros(keptBits);
                    q[f * lanes + lane] = c;
                    rhs[f * lanes + lane] = z[c * lanes + lane];
                    f++;
                }
            }
        }
        if (!kernels.spdSolveBatch(inverse, width, q, kept, rhs, work)) {
            throw new ThanosjException("row " + batch[0] + "..: the block's G⁻¹[F, F] is not numerically positive "
                    + "definite; try a larger --perc-damp");
        }
        for (int lane = 0; lane < n; lane++) {
            for (int i = 0; i < kept; i++) {
                int c = q[i * lanes + lane];
                if (c >= 0) {
                    x[c * lanes + lane] = -rhs[i * lanes + lane];
                }
            }
        }
        kernels.multiplyBatch(inverse, width, x, z);
        for (int lane = 0; lane < n; lane++) {
            int r = batch[lane];
            int k = 0;
            for (int w = 0; w < used; w++) {
                for (long pruned = mask[r * words + w] & validBits(width, w); pruned != 0; pruned &= pruned - 1) {
                    int c = 64 * w + Long.numberOfTrailingZeros(pruned);
                    indices[k] = c;
                    values[k] = z[c * lanes + lane];
                    k++;
                }
            }
            kernels.scatter(lambda.row(r), indices, values, k);
        }
    }

    /**
     * Structured Thanos on {@code weights} (modified in place) given {@code g = H_d⁻¹}: removes the columns
     * {@link LayerMath#structuredColumns} chooses from the non-outlier rows P with one multi-weight OBS
     * removal, {@code W[P, :] −= W[P, Q] · R̂⁻¹ · G[Q, :]}, then {@code W[P, Q] = 0}. Returns, for the loss,
     * {@code {tr(ΔW H_d ΔWᵀ), ‖ΔW‖²}}: the first is {@code tr(W_PQ R̂⁻¹ W_PQᵀ) = ‖W_PQ L⁻ᵀ‖²} with
     * {@code R̂ = L Lᵀ} (because {@code G[Q,:] H_d G[:,Q] = R̂}), one small TRSM per chunk.
     */
    static double[] pruneStructured(FloatMatrix weights, LayerStatistics stats, FloatMatrix g, PruneSpec spec,
            Linalg linalg, Kernels kernels, Arena arena) {
        Pattern.Structured pattern = (Pattern.Structured) spec.pattern();
        int cols = weights.cols();
        boolean[] outlier = LayerMath.outlierRows(weights, stats, spec.alpha());
        boolean[] removed = LayerMath.structuredColumns(weights, stats, outlier, pattern.sparsity(), spec.alpha());
        int[] q = java.util.stream.IntStream.range(0, cols).filter(j -> removed[j]).toArray();
        int[] kept = java.util.stream.IntStream.range(0, weights.rows()).filter(r -> !outlier[r]).toArray();
        int b = q.length;
        if (b == 0 || kept.length == 0) {
            return new double[] {0, 0};
        }
        FloatMatrix rhat = FloatMatrix.allocate(arena, b, b);
        FloatMatrix y = FloatMatrix.allocate(arena, b, cols);
        for (int x = 0; x < b; x++) {
            for (int z = 0; z < b; z++) {
                rhat.set(x, z, g.get(q[x], q[z]));
            }
            y.row(x).copyFrom(g.row(q[x]));
        }
        linalg.posv(rhat, y); // rhat now holds L, R̂ = L Lᵀ
        int chunk = 256;
        FloatMatrix wpq = FloatMatrix.allocate(arena, Math.min(chunk, kept.length), b);
        FloatMatrix delta = FloatMatrix.allocate(arena, Math.min(chunk, kept.length), cols);
        double energy = 0;
        double deltaSquares = 0;
        for (int p0 = 0; p0 < kept.length; p0 += chunk) {
            int n = Math.min(chunk, kept.length - p0);
            for (int i = 0; i < n; i++) {
                MemorySegment row = weights.row(kept[p0 + i]);
                for (int x = 0; x < b; x++) {
                    wpq.set(i, x, row.getAtIndex(JAVA_FLOAT, q[x]));
                }
            }
            FloatMatrix d = delta.rows(0, n);
            linalg.gemm(false, false, 1f, wpq.rows(0, n), y, 0f, d);
            for (int i = 0; i < n; i++) {
                MemorySegment row = weights.row(kept[p0 + i]);
                MemorySegment dr = d.row(i);
                for (int c = 0; c < cols; c++) {
                    float w = row.getAtIndex(JAVA_FLOAT, c);
                    float updated = removed[c] ? 0f : w - dr.getAtIndex(JAVA_FLOAT, c);
                    float change = updated - w;
                    deltaSquares += change * change;
                    row.setAtIndex(JAVA_FLOAT, c, updated);
                }
            }
            FloatMatrix x = wpq.rows(0, n);
            linalg.trsm(Side.RIGHT, Triangle.LOWER, true, 1f, rhat, x);
            for (int i = 0; i < n; i++) {
                energy += kernels.sumSquares(x.row(i), b);
            }
        }
        return new double[] {energy, deltaSquares};
    }
}
