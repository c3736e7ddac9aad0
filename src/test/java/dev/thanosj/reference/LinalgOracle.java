package dev.thanosj.reference;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.LUDecomposition;

/**
 * The slow, obviously correct double-precision oracle for the {@code Linalg} tests: straight loops for the
 * products, commons-math3 for Cholesky, inverses and solves. Matrices are {@code double[rows][cols]}.
 */
public final class LinalgOracle {
    private LinalgOracle() {
    }

    public static double[][] transpose(double[][] a) {
        int rows = a.length;
        int cols = rows == 0 ? 0 : a[0].length;
        double[][] t = new double[cols][rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j][i] = a[i][j];
            }
        }
        return t;
    }

    /** {@code a} or its transpose. */
    public static double[][] op(double[][] a, boolean trans) {
        return trans ? transpose(a) : a;
    }

    /** {@code a * b} with straight loops ({@code a} is m x k, {@code b} is k x n; k may be 0 when n is given). */
    public static double[][] multiply(double[][] a, double[][] b, int n) {
        int m = a.length;
        int k = b.length;
        double[][] c = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                double aip = a[i][p];
                for (int j = 0; j < n; j++) {
                    c[i][j] += aip * b[p][j];
                }
            }
        }
        return c;
    }

    /** Element-wise absolute values. */
    public static double[][] abs(double[][] a) {
        double[][] r = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            r[i] = new double[a[i].length];
            for (int j = 0; j < a[i].length; j++) {
                r[i][j] = Math.abs(a[i][j]);
            }
        }
        return r;
    }

    /** {@code alpha * x + beta * y} element-wise; {@code y} is ignored when beta is 0 (it may hold NaN). */
    public static double[][] combine(double alpha, double[][] x, double beta, double[][] y) {
        double[][] r = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            r[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                r[i][j] = alpha * x[i][j] + (beta == 0 ? 0 : beta * y[i][j]);
            }
        }
        return r;
    }

    /** The {@code lower} (or upper) triangle of the square a, diagonal included, zeros elsewhere. */
    public static double[][] triangle(double[][] a, boolean lower) {
        int n = a.length;
        double[][] t = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (lower ? j <= i : j >= i) {
                    t[i][j] = a[i][j];
                }
            }
        }
        return t;
    }

    /** The lower Cholesky factor of the symmetric positive definite a. */
    public static double[][] choleskyLower(double[][] a) {
        return new CholeskyDecomposition(new Array2DRowRealMatrix(a), 1e-12, 1e-300).getL().getData();
    }

    /** The inverse of the non-singular a. */
    public static double[][] inverse(double[][] a) {
        return new LUDecomposition(new Array2DRowRealMatrix(a)).getSolver().getInverse().getData();
    }

    /** {@code a⁻¹ b} for the non-singular a. */
    public static double[][] solve(double[][] a, double[][] b) {
        return new LUDecomposition(new Array2DRowRealMatrix(a)).getSolver().solve(new Array2DRowRealMatrix(b))
                .getData();
    }

    /** The largest absolute element (0 for an empty matrix). */
    public static double maxAbs(double[][] a) {
        double m = 0;
        for (double[] row : a) {
            for (double v : row) {
                m = Math.max(m, Math.abs(v));
            }
        }
        return m;
    }
}
