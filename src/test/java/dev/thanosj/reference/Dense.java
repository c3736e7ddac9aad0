package dev.thanosj.reference;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.LUDecomposition;

/**
 * Small double-precision helpers for the references: copies, conversions from and to {@link FloatMatrix},
 * and the three factorisations the references need, all from commons-math3.
 */
public final class Dense {
    /** Cholesky symmetry check: our matrices are symmetric by construction, so only rounding is tolerated. */
    private static final double SYMMETRY = 1e-12;

    private Dense() {
    }

    public static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }

    /** The float32 matrix {@code m} as doubles (exact). */
    public static double[][] toDouble(FloatMatrix m) {
        double[][] d = new double[m.rows()][m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                d[r][c] = m.get(r, c);
            }
        }
        return d;
    }

    /** {@code a} rounded to float32, as doubles. */
    public static double[][] roundToFloat(double[][] a) {
        double[][] d = new double[a.length][];
        for (int r = 0; r < a.length; r++) {
            d[r] = new double[a[r].length];
            for (int c = 0; c < a[r].length; c++) {
                d[r][c] = (float) a[r][c];
            }
        }
        return d;
    }

    /** {@code a} rounded to float32, in a new matrix of {@code arena}. */
    public static FloatMatrix toFloatMatrix(Arena arena, double[][] a, int cols) {
        FloatMatrix m = FloatMatrix.allocate(arena, a.length, cols);
        for (int r = 0; r < a.length; r++) {
            for (int c = 0; c < cols; c++) {
                m.set(r, c, (float) a[r][c]);
            }
        }
        return m;
    }

    public static double maxAbs(double[][] a) {
        double m = 0;
        for (double[] row : a) {
            for (double v : row) {
                m = Math.max(m, Math.abs(v));
            }
        }
        return m;
    }

    /** {@code a[from:, from:]} (a copy). */
    public static double[][] trailing(double[][] a, int from) {
        int n = a.length - from;
        double[][] t = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[from + i], from, t[i], 0, n);
        }
        return t;
    }

    /**
     * The inverse of the square matrix {@code a} by LU decomposition with partial pivoting (deliberately not
     * through Cholesky, so it checks the fast path's factor-based formulas independently), symmetrised.
     */
    public static double[][] inverseSymmetric(double[][] a) {
        double[][] inv = new LUDecomposition(new Array2DRowRealMatrix(a, true)).getSolver().getInverse().getData();
        int n = inv.length;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double v = 0.5 * (inv[i][j] + inv[j][i]);
                inv[i][j] = v;
                inv[j][i] = v;
            }
        }
        return inv;
    }

    /**
     * The upper Cholesky factor {@code U} of the symmetric positive definite {@code a = Uᵀ U}.
     *
     * @throws org.apache.commons.math3.linear.NonPositiveDefiniteMatrixException when a pivot is not
     *         positive
     */
    public static double[][] upperCholesky(double[][] a) {
        return new CholeskyDecomposition(new Array2DRowRealMatrix(a, true), SYMMETRY, 0.0).getLT().getData();
    }

    /** Solves {@code a x = b} for a small symmetric positive definite {@code a} (Cholesky; no inverse). */
    public static double[] solveSpd(double[][] a, double[] b) {
        return new CholeskyDecomposition(new Array2DRowRealMatrix(a, true), SYMMETRY, 0.0).getSolver()
                .solve(new ArrayRealVector(b, true)).toArray();
    }
}
