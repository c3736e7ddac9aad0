package dev.thanosj.reference;

/** Reconstruction losses in double precision ({@code ALGORITHMS.md}, notation). */
public final class Losses {
    private Losses() {
    }

    /** {@code ‖X (Ŵ − W)ᵀ‖²_F / ‖X Wᵀ‖²_F}, {@code x} being {@code tokens x cols}. */
    public static double relativeOutputLoss(double[][] x, double[][] original, double[][] pruned) {
        double num = 0;
        double den = 0;
        for (double[] token : x) {
            for (int r = 0; r < original.length; r++) {
                double y = 0;
                double dy = 0;
                for (int c = 0; c < token.length; c++) {
                    y += original[r][c] * token[c];
                    dy += (pruned[r][c] - original[r][c]) * token[c];
                }
                num += dy * dy;
                den += y * y;
            }
        }
        return num / den;
    }

    /** {@code tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)} with {@code ΔW = Ŵ − W}. */
    public static double relativeHessianLoss(double[][] h, double[][] original, double[][] pruned) {
        return quadratic(h, difference(pruned, original)) / quadratic(h, original);
    }

    /** {@code tr(D H Dᵀ) = Σ_r d_r H d_rᵀ}. */
    public static double quadratic(double[][] h, double[][] d) {
        double sum = 0;
        for (double[] row : d) {
            for (int i = 0; i < h.length; i++) {
                if (row[i] == 0) {
                    continue;
                }
                double hi = 0;
                for (int j = 0; j < h.length; j++) {
                    hi += h[i][j] * row[j];
                }
                sum += row[i] * hi;
            }
        }
        return sum;
    }

    /** {@code a − b}. */
    public static double[][] difference(double[][] a, double[][] b) {
        double[][] d = new double[a.length][];
        for (int r = 0; r < a.length; r++) {
            d[r] = new double[a[r].length];
            for (int c = 0; c < a[r].length; c++) {
                d[r][c] = a[r][c] - b[r][c];
            }
        }
        return d;
    }
}
