package dev.thanosj.linalg;

import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Cholesky factorisation, the SPD inverse from the factor, and small SPD solves for the pure-Java provider,
 * in LAPACK's blocked form (SPOTRF right-looking, STRTRI + SLAUUM for SPOTRI) with diagonal blocks of
 * {@value #NB}. The trailing updates go through {@link JavaTriangular} and {@link JavaGemm}; the diagonal
 * blocks are copied into a {@code float[]} (at most {@value #NB}² floats) and worked on there with
 * {@link JavaRows} dot products and axpys along rows, which C2 compiles better than the same loops on a segment.
 *
 * <p>Everything works on the lower triangle. An UPPER call transposes the square matrix in place first
 * (row-major {@code U} is the transpose of {@code L}, {@code A = UᵀU = LLᵀ}), which costs O(n²) next to
 * the O(n³) factorisation.
 */
final class JavaCholesky {
    /** Order of the diagonal blocks. */
    static final int NB = 128;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private JavaCholesky() {
    }

    /** Factors a in place ({@code LLᵀ} in the lower, {@code UᵀU} in the upper triangle), zeroing the other triangle. */
    static void potrf(Triangle uplo, FloatMatrix a, int threads) {
        if (uplo == Triangle.LOWER) {
            potrfLower(a, threads);
            return;
        }
        JavaRows.transposeInPlace(a);
        try {
            potrfLower(a, threads);
        } finally {
            JavaRows.transposeInPlace(a);
        }
    }

    /** Overwrites the factor with the full symmetric inverse of the matrix it factors; modifies factor. */
    static void potri(Triangle uplo, FloatMatrix factor, int threads) {
        if (uplo == Triangle.UPPER) {
            JavaRows.transposeInPlace(factor);
        }
        trtriLower(factor, threads);
        lauumLower(factor, threads);
        JavaRows.mirrorLowerToUpper(factor);
    }

    /** Solves {@code A X = B} on the calling thread: A becomes its lower factor, B becomes X. */
    static void posv(FloatMatrix a, FloatMatrix b) {
        potrfLower(a, 1);
        int k = a.rows();
        int nrhs = b.cols();
        if (nrhs >= JavaGemm.L) {
            JavaTriangular.trsm(Side.LEFT, Triangle.LOWER, false, 1f, a, b, 1);
            JavaTriangular.trsm(Side.LEFT, Triangle.LOWER, true, 1f, a, b, 1);
            return;
        }
        // Few right-hand sides: solve one column at a time in a contiguous buffer, along rows of L.
        MemorySegment lSeg = a.segment();
        MemorySegment bSeg = b.segment();
        float[] x = new float[k];
        for (int c = 0; c < nrhs; c++) {
            for (int i = 0; i < k; i++) {
                x[i] = bSeg.get(FLOAT, b.byteOffset(i, c));
            }
            for (int i = 0; i < k; i++) {
                x[i] = (x[i] - JavaRows.dot(lSeg, a.byteOffset(i, 0), x, 0, i)) / lSeg.get(FLOAT, a.byteOffset(i, i));
            }
            for (int i = k - 1; i >= 0; i--) {
                x[i] /= lSeg.get(FLOAT, a.byteOffset(i, i));
                JavaRows.axpy(-x[i], lSeg, a.byteOffset(i, 0), x, 0, i);
            }
            for (int i = 0; i < k; i++) {
                bSeg.set(FLOAT, b.byteOffset(i, c), x[i]);
            }
        }
    }

    /** Right-looking blocked Cholesky of the lower triangle; zeroes the strict upper triangle. */
    static void potrfLower(FloatMatrix a, int threads) {
        int n = a.rows();
        for (int j0 = 0; j0 < n; j0 += NB) {
            int jb = Math.min(NB, n - j0);
            factorDiagonal(a.view(j0, j0, jb, jb), j0, n);
            int rest = n - j0 - jb;
            if (rest > 0) {
                FloatMatrix panel = a.view(j0 + jb, j0, rest, jb);
                JavaTriangular.trsm(Side.RIGHT, Triangle.LOWER, true, 1f, a.view(j0, j0, jb, jb), panel, threads);
                JavaTriangular.syrkLower(false, -1f, panel, 1f, a.view(j0 + jb, j0 + jb, rest, rest), threads);
            }
        }
        JavaRows.zeroStrictUpper(a);
    }

    /**
     * Unblocked Cholesky–Crout on the lower triangle of the diagonal block d, which starts at row
     * {@code offset} of a matrix of order {@code order}: column by column, each entry below the pivot a dot
     * product of two finished row prefixes. The dots of one column are independent of each other (row by row,
     * each would wait for the previous one). Works on a {@code float[]} copy of the block (at most
     * {@value #NB}² floats), and multiplies by the pivot's reciprocal as LAPACK's SPOTF2 does.
     */
    private static void factorDiagonal(FloatMatrix d, int offset, int order) {
        int n = d.rows();
        float[] w = JavaRows.lowerToArray(d);
        for (int j = 0; j < n; j++) {
            int rowJ = j * n;
            float pivot = w[rowJ + j] - JavaRows.dot(w, rowJ, w, rowJ, j);
            if (!(pivot > 0f)) {
                throw new NotPositiveDefiniteException(offset + j + 1, order);
            }
            float root = (float) Math.sqrt(pivot);
            w[rowJ + j] = root;
            float reciprocal = 1f / root;
            for (int rowI = rowJ + n; rowI < n * n; rowI += n) {
                w[rowI + j] = (w[rowI + j] - JavaRows.dot(w, rowI, w, rowJ, j)) * reciprocal;
            }
        }
        JavaRows.lowerFromArray(w, d);
    }

    /** Inverts the lower triangular l in place (LAPACK STRTRI, lower, non-unit, blocks from the bottom). */
    private static void trtriLower(FloatMatrix l, int threads) {
        int n = l.rows();
        for (int j0 = ((n - 1) / NB) * NB; j0 >= 0; j0 -= NB) {
            int jb = Math.min(NB, n - j0);
            int rest = n - j0 - jb;
            if (rest > 0) {
                // X21 = -X22 L21 L11⁻¹, X22 already inverted
                FloatMatrix below = l.view(j0 + jb, j0, rest, jb);
                JavaTriangular.trmm(Side.LEFT, Triangle.LOWER, false, 1f, l.view(j0 + jb, j0 + jb, rest, rest), below,
                        threads);
                JavaTriangular.trsm(Side.RIGHT, Triangle.LOWER, false, -1f, l.view(j0, j0, jb, jb), below, threads);
            }
            invertDiagonal(l.view(j0, j0, jb, jb));
        }
    }

    /**
     * Inverts the small lower triangular d in place, row by row on a {@code float[]} copy:
     * {@code X[i][i] = 1 / d[i][i]} and {@code X[i][0:i] = -(sum over l < i of d[i][l] X[l][0:i]) / d[i][i]},
     * rows above i being inverted already.
     */
    private static void invertDiagonal(FloatMatrix d) {
        int n = d.rows();
        float[] w = JavaRows.lowerToArray(d);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            int rowI = i * n;
            Arrays.fill(x, 0, i, 0f);
            for (int l = 0; l < i; l++) {
                JavaRows.axpy(w[rowI + l], w, l * n, x, 0, l + 1);
            }
            float inv = 1f / w[rowI + i];
            for (int j = 0; j < i; j++) {
                w[rowI + j] = -x[j] * inv;
            }
            w[rowI + i] = inv;
        }
        JavaRows.lowerFromArray(w, d);
    }

    /**
     * Overwrites the lower triangle of the lower triangular x with that of {@code XᵀX} (LAPACK SLAUUM,
     * lower), block row by block row from the top; every step only reads block rows not yet overwritten.
     */
    private static void lauumLower(FloatMatrix x, int threads) {
        int n = x.rows();
        for (int i0 = 0; i0 < n; i0 += NB) {
            int ib = Math.min(NB, n - i0);
            int rest = n - i0 - ib;
            FloatMatrix diagonal = x.view(i0, i0, ib, ib);
            if (i0 > 0) {
                FloatMatrix left = x.view(i0, 0, ib, i0);
                JavaTriangular.trmm(Side.LEFT, Triangle.LOWER, true, 1f, diagonal, left, threads);
                if (rest > 0) {
                    JavaGemm.gemm(true, false, 1f, x.view(i0 + ib, i0, rest, ib), x.view(i0 + ib, 0, rest, i0), 1f,
                            left, threads);
                }
            }
            lauumDiagonal(diagonal);
            if (rest > 0) {
                FloatMatrix below = x.view(i0 + ib, i0, rest, ib);
                JavaGemm.gemm(true, false, 1f, below, below, 1f, diagonal, threads);
            }
        }
    }

    /** The lower triangle of {@code DᵀD} for the small lower triangular d, in place, row by row from the top. */
    private static void lauumDiagonal(FloatMatrix d) {
        int n = d.rows();
        float[] w = JavaRows.lowerToArray(d);
        for (int i = 0; i < n; i++) {
            int rowI = i * n;
            float dii = w[rowI + i];
            for (int j = 0; j <= i; j++) {
                w[rowI + j] *= dii;
            }
            for (int k = i + 1; k < n; k++) {
                JavaRows.axpy(w[k * n + i], w, k * n, w, rowI, i + 1);
            }
        }
        JavaRows.lowerFromArray(w, d);
    }
}
