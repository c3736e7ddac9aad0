package dev.thanosj.bench;

import java.util.SplittableRandom;

/** Seeded inputs shared by the benchmarks and their checks. */
final class BenchData {
    private BenchData() {
    }

    /** A well-conditioned SPD {@code n x n} Gram matrix {@code AᵀA/n + I}, row-major. */
    static float[] gram(int n, SplittableRandom random) {
        double[][] a = new double[n][n];
        for (double[] r : a) {
            for (int j = 0; j < n; j++) {
                r[j] = random.nextGaussian();
            }
        }
        float[] g = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int p = 0; p < n; p++) {
                    s += a[p][i] * a[p][j];
                }
                s /= n;
                if (i == j) {
                    s += 1;
                }
                g[i * n + j] = (float) s;
                g[j * n + i] = (float) s;
            }
        }
        return g;
    }
}
