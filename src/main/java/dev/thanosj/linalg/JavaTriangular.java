package dev.thanosj.linalg;

import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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
    /** Rows of B that a RIGHT diagonal block transposes into one scratch panel (one task). */
    private static final int ROW_CHUNK = 256;

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
        JavaRows.forEach(chunks, useThreads, chunk -> {
            int c0 = chunk * COLUMN_CHUNK;
            applyLeft(solve, a, trans, lowerT, i0, ib, rows, c0, Math.min(COLUMN_CHUNK, n - c0));
        });
    }

    /**
     * Applies the diagonal block {@code D = T[j0:+jb, j0:+jb]} from the right to every row of {@code cols}
     * (jb wide): {@code cols = cols D⁻¹} when {@code solve}, else {@code cols = cols D}; modifies cols. A chunk
     * of rows is transposed into a small scratch panel, where {@code x D = b} becomes {@code Dᵀ xᵀ = bᵀ}: the
     * same row operations as on the left, now along rows {@value #ROW_CHUNK} long instead of jb.
     */
    private static void rightDiagonal(boolean solve, FloatMatrix a, boolean trans, boolean lowerT, int j0, int jb,
            FloatMatrix cols, int threads) {
        int m = cols.rows();
        int chunks = JavaGemm.ceilDiv(m, ROW_CHUNK);
        int useThreads = (long) jb * jb * m >= JavaGemm.PARALLEL_MIN_WORK ? threads : 1;
        JavaRows.forEach(chunks, useThreads, chunk -> {
            int r0 = chunk * ROW_CHUNK;
            FloatMatrix part = cols.rows(r0, Math.min(m, r0 + ROW_CHUNK));
            try (Arena scratch = Arena.ofConfined()) {
                FloatMatrix panel = FloatMatrix.allocate(scratch, jb, part.rows());
                JavaRows.transpose(part, panel);
                applyLeft(solve, a, !trans, !lowerT, j0, jb, panel, 0, part.rows());
                JavaRows.transpose(panel, part);
            }
        });
    }

    /**
     * {@code rows[:, c0:+w] = D⁻¹ rows[:, c0:+w]} (solve) or {@code D rows[:, c0:+w]}, with
     * {@code D = T[i0:+ib, i0:+ib]}, one row operation at a time; modifies rows.
     */
    private static void applyLeft(boolean solve, FloatMatrix a, boolean trans, boolean lowerT, int i0, int ib,
            FloatMatrix rows, int c0, int w) {
        MemorySegment seg = rows.segment();
        // Forward order when solving with a lower D or multiplying with an upper one: row i then only reads rows
        // that already hold their final (solve) or original (multiply) values.
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
    }
}
