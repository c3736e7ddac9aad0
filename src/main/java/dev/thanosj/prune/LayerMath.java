package dev.thanosj.prune;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/** Quantities of a layer shared by the methods: Wanda's {@code sqrt(s)}, outlier rows, quadratic forms. */
final class LayerMath {
    /** Rows per GEMM when a quadratic form is evaluated in chunks (bounds the temporary to 256 rows). */
    private static final int CHUNK_ROWS = 256;

    private LayerMath() {
    }

    /** {@code sqrt(s_j)} for every input column, rounded to float once (the Wanda metric's factor). */
    static float[] sqrtScaler(LayerStatistics stats) {
        float[] out = new float[stats.cols()];
        MemorySegment s = stats.scaler().row(0);
        for (int j = 0; j < out.length; j++) {
            out[j] = (float) Math.sqrt(s.getAtIndex(JAVA_FLOAT, j));
        }
        return out;
    }

    /**
     * The {@code floor(alpha · rows)} rows with the largest {@code ρ_i = Σ_j W_ij² s_j} (ties: lower row
     * first), as a per-row flag ({@code ALGORITHMS.md}, notation). Sums in double.
     */
    static boolean[] outlierRows(FloatMatrix weights, LayerStatistics stats, double alpha) {
        int rows = weights.rows();
        boolean[] outlier = new boolean[rows];
        int count = (int) Counts.floor(alpha * rows);
        if (count == 0) {
            return outlier;
        }
        MemorySegment s = stats.scaler().row(0);
        double[] rho = new double[rows];
        for (int r = 0; r < rows; r++) {
            MemorySegment w = weights.row(r);
            double sum = 0;
            for (int j = 0; j < weights.cols(); j++) {
                double v = w.getAtIndex(JAVA_FLOAT, j);
                sum += v * v * s.getAtIndex(JAVA_FLOAT, j);
            }
            rho[r] = sum;
        }
        Integer[] order = new Integer[rows];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> rho[a] != rho[b] ? Double.compare(rho[b], rho[a]) : Integer.compare(a, b));
        for (int i = 0; i < count; i++) {
            outlier[order[i]] = true;
        }
        return outlier;
    }

    /** {@code tr(D H Dᵀ) = Σ_i d_i H d_iᵀ}, evaluated {@value #CHUNK_ROWS} rows at a time, in double. */
    static double quadraticTrace(FloatMatrix d, FloatMatrix hessian, Linalg linalg, Kernels kernels,
            CountingArena arena) {
        double total = 0;
        try (Arena scratch = arena.nested()) {
            FloatMatrix product = FloatMatrix.allocate(scratch, Math.min(CHUNK_ROWS, d.rows()), d.cols());
            for (int r0 = 0; r0 < d.rows(); r0 += CHUNK_ROWS) {
                int n = Math.min(CHUNK_ROWS, d.rows() - r0);
                FloatMatrix chunk = d.rows(r0, r0 + n);
                FloatMatrix p = product.rows(0, n);
                linalg.gemm(false, false, 1f, chunk, hessian, 0f, p);
                for (int r = 0; r < n; r++) {
                    total += kernels.dot(chunk.row(r), p.row(r), d.cols());
                }
            }
        }
        return total;
    }

    /** Work on the rows {@code [r0, r1)}, run on one thread with scratch of its own. */
    @FunctionalInterface
    interface RowRange {
        void run(int r0, int r1);
    }

    /**
     * Splits {@code [0, rows)} into a few ranges per worker and runs them on the worker pool, with the
     * linear-algebra provider single-threaded meanwhile; scratch is allocated per range, not per row.
     */
    static void parallelRows(Linalg linalg, int rows, RowRange body) {
        int ranges = Math.min(rows, 4 * dev.thanosj.concurrent.Workers.threads());
        if (ranges <= 1) {
            body.run(0, rows);
            return;
        }
        int size = (rows + ranges - 1) / ranges;
        linalg.parallelFor((rows + size - 1) / size, i -> body.run(i * size, Math.min(rows, (i + 1) * size)));
    }

    /**
     * The input columns structured pruning removes ({@code ALGORITHMS.md}, Thanos structured, step 2):
     * the {@code min(cols, ceil(p · cols / (1 − α)))} smallest {@code κ_j = s_j Σ_{i∈P} W_ij²} over the
     * non-outlier rows P (ties: lower index). Sums in double.
     */
    static boolean[] structuredColumns(FloatMatrix weights, LayerStatistics stats, boolean[] outlier,
            double sparsity, double alpha) {
        int cols = weights.cols();
        double[] kappa = new double[cols];
        for (int r = 0; r < weights.rows(); r++) {
            if (outlier[r]) {
                continue;
            }
            MemorySegment w = weights.row(r);
            for (int j = 0; j < cols; j++) {
                double v = w.getAtIndex(JAVA_FLOAT, j);
                kappa[j] += v * v;
            }
        }
        MemorySegment s = stats.scaler().row(0);
        for (int j = 0; j < cols; j++) {
            kappa[j] *= s.getAtIndex(JAVA_FLOAT, j);
        }
        int count = (int) Math.min(cols, Counts.ceil(sparsity * cols / (1 - alpha)));
        Integer[] order = new Integer[cols];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> kappa[a] != kappa[b] ? Double.compare(kappa[a], kappa[b]) : Integer.compare(a, b));
        boolean[] removed = new boolean[cols];
        for (int i = 0; i < count; i++) {
            removed[order[i]] = true;
        }
        return removed;
    }
}
