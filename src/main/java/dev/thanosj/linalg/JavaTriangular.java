package dev.thanosj.linalg;

import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Blocked TRSM, TRMM and SYRK for the pure-Java provider. Each splits the triangular matrix into diagonal
 * blocks of {@value #NB}: the off-diagonal work is one {@link JavaGemm} call per block (most of the flops),
 * the diagonal blocks are solved or multiplied with {@link JavaRows} vector row operations.
 *
 * <p>Notation: {@code T = op(A)}, the triangle actually applied; it is lower when {@code uplo == LOWER} and A
 * is not transposed, or {@code uplo == UPPER} and it is. {@link #opBlock} hands a block of T to GEMM as a
 * view of A plus a transpose flag, so no operand is ever copied.
 */
final class JavaTriangular {
    /** Order of the diagonal blocks. */
    static final int NB = 64;
    /** Columns of B that a LEFT diagonal block processes together (their rows stay in L1/L2). */
    private static final int COLUMN_CHUNK = 512;
    /** Rows of B that a RIGHT diagonal block hands to one task. */
    private static final int ROW_CHUNK = 256;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private JavaTriangular() {
    }

    /** {@code B = alpha * T⁻¹ B} (LEFT) or {@code B = alpha * B T⁻¹} (RIGHT); modifies B. */
    static void trsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b,
            int threads) {
        JavaGemm.scale(alpha, b);
        if (alpha == 0f) {
            return;
        }
        boolean lowerT = (uplo == Triangle.LOWER) != transA;
        int k = a.rows();
        if (side == Side.LEFT) {
            if (lowerT) {
                for (int i0 = 0; i0 < k; i0 += NB) {
                    int ib = Math.min(NB, k - i0);
                    leftDiagonal(true, a, transA, lowerT, i0, ib, b.rows(i0, i0 + ib), threads);
                    int rest = k - i0 - ib;
                    if (rest > 0) {
                        JavaGemm.gemm(transA, false, -1f, opBlock(a, transA, i0 + ib, i0, rest, ib),
                                b.rows(i0, i0 + ib), 1f, b.rows(i0 + ib, k), threads);
                    }
                }
            } else {
                for (int i0 = lastBlock(k); i0 >= 0; i0 -= NB) {
                    int ib = Math.min(NB, k - i0);
                    leftDiagonal(true, a, transA, lowerT, i0, ib, b.rows(i0, i0 + ib), threads);
                    if (i0 > 0) {
                        JavaGemm.gemm(transA, false, -1f, opBlock(a, transA, 0, i0, i0, ib), b.rows(i0, i0 + ib),
                                1f, b.rows(0, i0), threads);
                    }
                }
            }
        } else {
            if (lowerT) {
                for (int j0 = lastBlock(k); j0 >= 0; j0 -= NB) {
                    int jb = Math.min(NB, k - j0);
                    rightDiagonal(true, a, transA, lowerT, j0, jb, b.columns(j0, j0 + jb), threads);
                    if (j0 > 0) {
                        JavaGemm.gemm(false, transA, -1f, b.columns(j0, j0 + jb), opBlock(a, transA, j0, 0, jb, j0),
                                1f, b.columns(0, j0), threads);
                    }
                }
            } else {
                for (int j0 = 0; j0 < k; j0 += NB) {
                    int jb = Math.min(NB, k - j0);
                    rightDiagonal(true, a, transA, lowerT, j0, jb, b.columns(j0, j0 + jb), threads);
                    int rest = k - j0 - jb;
                    if (rest > 0) {
                        JavaGemm.gemm(false, transA, -1f, b.columns(j0, j0 + jb),
                                opBlock(a, transA, j0, j0 + jb, jb, rest), 1f, b.columns(j0 + jb, k), threads);
                    }
                }
            }
        }
    }

    /** {@code B = alpha * T B} (LEFT) or {@code B = alpha * B T} (RIGHT); modifies B. */
    static void trmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b,
            int threads) {
        JavaGemm.scale(alpha, b);
        if (alpha == 0f) {
            return;
        }
        boolean lowerT = (uplo == Triangle.LOWER) != transA;
        int k = a.rows();
        if (side == Side.LEFT) {
            if (lowerT) {
                for (int i0 = lastBlock(k); i0 >= 0; i0 -= NB) {
                    int ib = Math.min(NB, k - i0);
                    leftDiagonal(false, a, transA, lowerT, i0, ib, b.rows(i0, i0 + ib), threads);
                    if (i0 > 0) {
                        JavaGemm.gemm(transA, false, 1f, opBlock(a, transA, i0, 0, ib, i0), b.rows(0, i0), 1f,
                                b.rows(i0, i0 + ib), threads);
                    }
                }
            } else {
                for (int i0 = 0; i0 < k; i0 += NB) {
                    int ib = Math.min(NB, k - i0);
                    leftDiagonal(false, a, transA, lowerT, i0, ib, b.rows(i0, i0 + ib), threads);
                    int rest = k - i0 - ib;
                    if (rest > 0) {
                        JavaGemm.gemm(transA, false, 1f, opBlock(a, transA, i0, i0 + ib, ib, rest),
                                b.rows(i0 + ib, k), 1f, b.rows(i0, i0 + ib), threads);
                    }
                }
            }
        } else {
            if (lowerT) {
                for (int j0 = 0; j0 < k; j0 += NB) {
                    int jb = Math.min(NB, k - j0);
                    rightDiagonal(false, a, transA, lowerT, j0, jb, b.columns(j0, j0 + jb), threads);
                    int rest = k - j0 - jb;
                    if (rest > 0) {
                        JavaGemm.gemm(false, transA, 1f, b.columns(j0 + jb, k),
                                opBlock(a, transA, j0 + jb, j0, rest, jb), 1f, b.columns(j0, j0 + jb), threads);
                    }
                }
            } else {
                for (int j0 = lastBlock(k); j0 >= 0; j0 -= NB) {
                    int jb = Math.min(NB, k - j0);
                    rightDiagonal(false, a, transA, lowerT, j0, jb, b.columns(j0, j0 + jb), threads);
                    if (j0 > 0) {
                        JavaGemm.gemm(false, transA, 1f, b.columns(0, j0), opBlock(a, transA, 0, j0, j0, jb), 1f,
                                b.columns(j0, j0 + jb), threads);
                    }
                }
            }
        }
    }

    /**
     * {@code C = alpha * op(A) op(A)ᵀ + beta * C} in both triangles (computed in the lower one); modifies C. A
     * C that is not symmetric while beta is not 0 would make the result asymmetric, so that case is a GEMM.
     */
    static void syrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c, int threads) {
        if (beta != 0f && !JavaRows.isSymmetric(c)) {
            JavaGemm.gemm(transA, !transA, alpha, a, a, beta, c, threads);
            return;
        }
        syrkLower(transA, alpha, a, beta, c, threads);
        JavaRows.mirrorLowerToUpper(c);
    }

    /**
     * {@code C = alpha * op(A) op(A)ᵀ + beta * C} on the lower triangle of C, one GEMM per block column; the
     * diagonal blocks are computed whole, so their strict upper parts change too. Modifies C.
     */
    static void syrkLower(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c, int threads) {
        int n = c.rows();
        int k = transA ? a.rows() : a.cols();
        int width = n <= 1024 ? 128 : 256;
        for (int j0 = 0; j0 < n; j0 += width) {
            int w = Math.min(width, n - j0);
            FloatMatrix below = transA ? a.view(0, j0, k, n - j0) : a.view(j0, 0, n - j0, k);
            FloatMatrix block = transA ? a.view(0, j0, k, w) : a.view(j0, 0, w, k);
            JavaGemm.gemm(transA, !transA, alpha, below, block, beta, c.view(j0, j0, n - j0, w), threads);
        }
    }

    /** The block {@code T[i0:+h, j0:+w]} as a view of A, to be used with GEMM's transpose flag {@code trans}. */
    static FloatMatrix opBlock(FloatMatrix a, boolean trans, int i0, int j0, int h, int w) {
        return trans ? a.view(j0, i0, w, h) : a.view(i0, j0, h, w);
    }

    private static int lastBlock(int k) {
        return ((k - 1) / NB) * NB;
    }

    /** Element (i, j) of {@code T = op(A)}. */
    private static float t(FloatMatrix a, boolean trans, int i, int j) {
        return trans ? a.get(j, i) : a.get(i, j);
    }

    /**
     * Applies the diagonal block {@code D = T[i0:+ib, i0:+ib]} from the left to the ib rows of {@code rows}:
     * {@code rows = D⁻¹ rows} when {@code solve}, else {@code rows = D rows}; modifies rows. Row operations
     * along B's rows, column chunk by column chunk, chunks in parallel.
     */
    private static void leftDiagonal(boolean solve, FloatMatrix a, boolean trans, boolean lowerT, int i0, int ib,
            FloatMatrix rows, int threads) {
        int n = rows.cols();
        int chunks = JavaGemm.ceilDiv(n, COLUMN_CHUNK);
        int useThreads = (long) ib * ib * n >= JavaGemm.PARALLEL_MIN_WORK ? threads : 1;
        MemorySegment seg = rows.segment();
        JavaRows.forEach(chunks, useThreads, chunk -> {
            int c0 = chunk * COLUMN_CHUNK;
            int w = Math.min(COLUMN_CHUNK, n - c0);
            // Forward order when solving with a lower D or multiplying with an upper one: row i then only
            // reads rows that already hold their final (solve) or original (multiply) values.
            boolean forward = solve == lowerT;
            for (int s = 0; s < ib; s++) {
                int i = forward ? s : ib - 1 - s;
                long rowI = rows.byteOffset(i, c0);
                float diag = t(a, trans, i0 + i, i0 + i);
                if (!solve) {
                    JavaRows.scale(diag, seg, rowI, w);
                }
                int from = lowerT ? 0 : i + 1;
                int to = lowerT ? i : ib;
                for (int j = from; j < to; j++) {
                    float tij = t(a, trans, i0 + i, i0 + j);
                    JavaRows.axpy(solve ? -tij : tij, seg, rows.byteOffset(j, c0), seg, rowI, w);
                }
                if (solve) {
                    JavaRows.divide(diag, seg, rowI, w);
                }
            }
        });
    }

    /**
     * Applies the diagonal block {@code D = T[j0:+jb, j0:+jb]} from the right to every row x of
     * {@code cols} (jb wide): {@code x = x D⁻¹} when {@code solve}, else {@code x = x D}; modifies cols. Each
     * row is independent; the formulas read D along rows of A (dot or axpy form, whichever is contiguous).
     */
    private static void rightDiagonal(boolean solve, FloatMatrix a, boolean trans, boolean lowerT, int j0, int jb,
            FloatMatrix cols, int threads) {
        int m = cols.rows();
        int chunks = JavaGemm.ceilDiv(m, ROW_CHUNK);
        int useThreads = (long) jb * jb * m >= JavaGemm.PARALLEL_MIN_WORK ? threads : 1;
        FloatMatrix d = a.view(j0, j0, jb, jb);
        MemorySegment dSeg = d.segment();
        MemorySegment seg = cols.segment();
        JavaRows.forEach(chunks, useThreads, chunk -> {
            int r1 = Math.min(m, (chunk + 1) * ROW_CHUNK);
            for (int r = chunk * ROW_CHUNK; r < r1; r++) {
                long x = cols.byteOffset(r, 0);
                if (solve) {
                    solveRow(d, dSeg, trans, lowerT, seg, x, jb);
                } else {
                    multiplyRow(d, dSeg, trans, lowerT, seg, x, jb);
                }
            }
        });
    }

    /** {@code x = x T⁻¹} for one row x (jb floats at byte x of seg), T being d or dᵀ; modifies x. */
    private static void solveRow(FloatMatrix d, MemorySegment dSeg, boolean trans, boolean lowerT, MemorySegment seg,
            long x, int jb) {
        for (int s = 0; s < jb; s++) {
            int j = lowerT ? jb - 1 - s : s;
            long xj = x + (long) j * Float.BYTES;
            float djj = dSeg.get(FLOAT, d.byteOffset(j, j));
            if (trans) {
                // T[l][j] = d[j][l]: x[j] = (x[j] - sum over l after j (lower T) or before j (upper T)) / d[j][j]
                int from = lowerT ? j + 1 : 0;
                int len = lowerT ? jb - j - 1 : j;
                float sum = JavaRows.dot(seg, x + (long) from * Float.BYTES, dSeg, d.byteOffset(j, from), len);
                seg.set(FLOAT, xj,
                        (seg.get(FLOAT, xj) - sum) / djj);
            } else {
                // T = d: once x[j] is final, remove its share x[j] * d[j][l] from the x[l] still to solve
                float xjv = seg.get(FLOAT, xj) / djj;
                seg.set(FLOAT, xj, xjv);
                int from = lowerT ? 0 : j + 1;
                int len = lowerT ? j : jb - j - 1;
                JavaRows.axpy(-xjv, dSeg, d.byteOffset(j, from), seg, x + (long) from * Float.BYTES, len);
            }
        }
    }

    /** {@code x = x T} for one row x (jb floats at byte x of seg), T being d or dᵀ; modifies x. */
    private static void multiplyRow(FloatMatrix d, MemorySegment dSeg, boolean trans, boolean lowerT,
            MemorySegment seg, long x, int jb) {
        for (int s = 0; s < jb; s++) {
            if (trans) {
                // x[j] = sum over l of x[l] d[j][l], l in [j, jb) for lower T, [0, j] for upper T
                int j = lowerT ? s : jb - 1 - s;
                int from = lowerT ? j : 0;
                int len = lowerT ? jb - j : j + 1;
                float v = JavaRows.dot(seg, x + (long) from * Float.BYTES, dSeg, d.byteOffset(j, from), len);
                seg.set(FLOAT, x + (long) j * Float.BYTES, v);
            } else {
                // x[l] spreads x[l] * d[l][j] to every j it reaches: j <= l for lower T, j >= l for upper T
                int l = lowerT ? s : jb - 1 - s;
                long xl = x + (long) l * Float.BYTES;
                float v = seg.get(FLOAT, xl);
                seg.set(FLOAT, xl,
                        v * dSeg.get(FLOAT, d.byteOffset(l, l)));
                int from = lowerT ? 0 : l + 1;
                int len = lowerT ? l : jb - l - 1;
                JavaRows.axpy(v, dSeg, d.byteOffset(l, from), seg, x + (long) from * Float.BYTES, len);
            }
        }
    }
}
