package dev.thanosj.reference;

import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import org.apache.commons.math3.linear.NonPositiveDefiniteMatrixException;

/**
 * The slow, obviously-correct oracle for every pruning method: double precision, straight loops that follow
 * {@code ALGORITHMS.md} line by line, sections cited at each method. It is not fast (Thanos inverts
 * {@code H[i1:, i1:]} afresh for every block, the naive way the published code does, so that it checks the
 * fast path's single-Cholesky formulation independently) and it is not meant to be.
 *
 * <p>Wanda structured is not in {@code ALGORITHMS.md}; it is defined here as Thanos structured's column
 * selection (outlier rows by ρ, κ over the other rows, the {@code b} smallest κ) without any weight update:
 * {@code W[P, Q] = 0}.
 *
 * <p>Preparation (dead inputs, damping) applies to the methods that use {@code H} (SparseGPT, Thanos) and
 * zeroes the dead columns of <em>every</em> row, outlier rows included: {@code ALGORITHMS.md} lists it before
 * any method step, and a dead input contributes nothing to the layer's output either way.
 */
public final class ReferencePruner {
    /** The count tolerance of {@code ALGORITHMS.md}: {@code floor(x + 1e-9)}, {@code ceil(x - 1e-9)}. */
    static final double COUNT_TOLERANCE = 1e-9;
    /** Most retries of the damping, each ×10 ({@code ALGORITHMS.md}, preparation). */
    static final int MAX_DAMPING_RETRIES = 3;

    private ReferencePruner() {
    }

    /**
     * Calibration statistics in double precision ({@code ALGORITHMS.md}, notation).
     *
     * @param hessian {@code H = (2/N) Σ XᵀX}, {@code cols x cols}
     * @param scaler  {@code s_j = (1/N) Σ ‖X[:, j]‖²}
     */
    public record Statistics(double[][] hessian, double[] scaler) {
        /** The statistics of {@code x} ({@code tokens x cols}), all tokens of {@code sequences} sequences. */
        public static Statistics fromInputs(double[][] x, int cols, int sequences) {
            double[][] h = new double[cols][cols];
            double[] s = new double[cols];
            for (double[] token : x) {
                for (int i = 0; i < cols; i++) {
                    s[i] += token[i] * token[i];
                    for (int j = 0; j < cols; j++) {
                        h[i][j] += token[i] * token[j];
                    }
                }
            }
            for (int i = 0; i < cols; i++) {
                s[i] /= sequences;
                for (int j = 0; j < cols; j++) {
                    h[i][j] *= 2.0 / sequences;
                }
            }
            return new Statistics(h, s);
        }
    }

    /**
     * What the reference computed.
     *
     * @param weights        the pruned weights
     * @param dampedHessian  {@code H} after preparation (dead inputs, damping) — the matrix SparseGPT and Thanos
     *                       actually minimise {@code δ H δᵀ} under; null for magnitude and Wanda
     * @param deadInputs     the dead input columns ({@code H_jj == 0}); empty for magnitude and Wanda
     * @param outlierRows    which rows were kept dense as outliers
     * @param percDamp       the damping fraction used (0 when {@code H} is not used)
     * @param dampingRetries how often the damping was multiplied by 10
     * @param selections     every "k smallest" selection made, with its near-tie gap
     */
    public record Result(double[][] weights, double[][] dampedHessian, int[] deadInputs, boolean[] outlierRows,
            double percDamp, int dampingRetries, SelectionLog selections) {
    }

    /** Prunes a copy of {@code weights} ({@code rows x cols}) as {@code spec} says; the argument is not modified. */
    public static Result prune(double[][] weights, Statistics stats, PruneSpec spec) {
        double[][] w = Dense.copy(weights);
        int rows = w.length;
        int cols = stats.scaler().length;
        SelectionLog log = new SelectionLog();
        double[] s = stats.scaler();
        Pattern pattern = spec.pattern();
        if (spec.method() == Method.MAGNITUDE || spec.method() == Method.WANDA) {
            boolean[] outliers = new boolean[rows];
            boolean wanda = spec.method() == Method.WANDA;
            switch (pattern) {
                case Pattern.Unstructured u -> {
                    if (wanda) {
                        wandaUnstructured(w, s, u.sparsity(), log);
                    } else {
                        magnitudeUnstructured(w, u.sparsity(), log);
                    }
                }
                case Pattern.NOfM nm -> perGroup(w, cols, nm.n(), nm.m(), wanda ? s : null, outliers, log);
                case Pattern.Structured st -> {
                    if (!wanda) {
                        throw new IllegalArgumentException("magnitude has no structured variant");
                    }
                    outliers = outlierRows(w, s, spec.alpha(), log);
                    wandaStructured(w, s, st.sparsity(), spec.alpha(), outliers, log);
                }
            }
            return new Result(w, null, new int[0], outliers, 0, 0, log);
        }

        Prepared prepared = prepare(w, stats.hessian(), spec.percDamp());
        double[][] h = prepared.hessian();
        boolean[] outliers = new boolean[rows];
        if (spec.method() == Method.SPARSEGPT) {
            sparseGpt(w, h, pattern, spec.blockSize(), log);
        } else {
            switch (pattern) {
                case Pattern.Unstructured u -> thanosUnstructured(w, h, s, u.sparsity(), spec.blockSize(), log);
                case Pattern.NOfM nm -> {
                    outliers = outlierRows(w, s, spec.alpha(), log);
                    thanosNOfM(w, h, s, nm.n(), nm.m(), spec.blockSize(), outliers, log);
                }
                case Pattern.Structured st -> {
                    outliers = outlierRows(w, s, spec.alpha(), log);
                    thanosStructured(w, h, s, st.sparsity(), spec.alpha(), outliers, log);
                }
            }
        }
        return new Result(w, h, prepared.deadInputs(), outliers, prepared.percDamp(), prepared.retries(), log);
    }

    // ---------------------------------------------------------------------------------------------------
    // Notation section of ALGORITHMS.md

    static long floorCount(double x) {
        return (long) Math.floor(x + COUNT_TOLERANCE);
    }

    static long ceilCount(double x) {
        return (long) Math.ceil(x - COUNT_TOLERANCE);
    }

    private record Prepared(double[][] hessian, int[] deadInputs, double percDamp, int retries) {
    }

    /**
     * Preparation: (1) dead inputs: {@code H_jj == 0} → {@code H_jj = 1}, {@code W[:, j] = 0} (in place);
     * (2) {@code H += percDamp · mean(diag H) · I}, retried with {@code percDamp × 10} at most 3 times while
     * the Cholesky factorisation fails.
     */
    private static Prepared prepare(double[][] w, double[][] hessian, double percDamp) {
        double[][] h = Dense.copy(hessian);
        int cols = h.length;
        int dead = 0;
        for (int j = 0; j < cols; j++) {
            if (h[j][j] == 0) {
                dead++;
            }
        }
        int[] deadInputs = new int[dead];
        dead = 0;
        for (int j = 0; j < cols; j++) {
            if (h[j][j] == 0) {
                deadInputs[dead++] = j;
                h[j][j] = 1;
                for (double[] row : w) {
                    row[j] = 0;
                }
            }
        }
        double mean = 0;
        for (int j = 0; j < cols; j++) {
            mean += h[j][j];
        }
        mean /= cols;
        double damp = percDamp;
        for (int retry = 0; retry <= MAX_DAMPING_RETRIES; retry++, damp *= 10) {
            double[][] damped = Dense.copy(h);
            for (int j = 0; j < cols; j++) {
                damped[j][j] += damp * mean;
            }
            try {
                Dense.upperCholesky(damped);
                return new Prepared(damped, deadInputs, damp, retry);
            } catch (NonPositiveDefiniteMatrixException e) {
                // retry with ten times the damping
            }
        }
        throw new IllegalStateException("H is not positive definite even with percDamp " + damp / 10);
    }

    /** Wanda metric {@code M_ij = |W_ij| · sqrt(s_j)}. */
    private static double wandaMetric(double[][] w, double[] s, int r, int c) {
        return Math.abs(w[r][c]) * Math.sqrt(s[c]);
    }

    /**
     * Outlier rows: the {@code floor(α · rows)} rows with the largest {@code ρ_i = Σ_j W_ij² s_j}, ties:
     * lower row index first.
     */
    static boolean[] outlierRows(double[][] w, double[] s, double alpha, SelectionLog log) {
        int rows = w.length;
        int k = (int) floorCount(alpha * rows);
        double[] negRho = new double[rows];
        for (int r = 0; r < rows; r++) {
            double rho = 0;
            for (int c = 0; c < s.length; c++) {
                rho += w[r][c] * w[r][c] * s[c];
            }
            negRho[r] = -rho;
        }
        // The largest ρ are the smallest -ρ; ties keep the lower row index first.
        return log.smallest(negRho, k);
    }

    // ---------------------------------------------------------------------------------------------------
    // Multi-weight OBS removal

    /**
     * Removes the entries {@code q} (indices relative to {@code offset}) of {@code row}, with
     * {@code g = inv(H[offset:, offset:])}: {@code λ = R̂⁻¹ w_Qᵀ} (solved), {@code w ← w − λᵀ R}, then
     * {@code w_Q = 0} exactly. Entries before {@code offset} are not touched.
     */
    public static void obsRemove(double[] row, int offset, double[][] g, int[] q) {
        int k = q.length;
        if (k == 0) {
            return;
        }
        double[][] rHat = new double[k][k];
        double[] wq = new double[k];
        for (int a = 0; a < k; a++) {
            wq[a] = row[offset + q[a]];
            for (int b = 0; b < k; b++) {
                rHat[a][b] = g[q[a]][q[b]];
            }
        }
        double[] lambda = Dense.solveSpd(rHat, wq);
        for (int j = 0; j < g.length; j++) {
            double update = 0;
            for (int a = 0; a < k; a++) {
                update += lambda[a] * g[q[a]][j];
            }
            row[offset + j] -= update;
        }
        for (int a = 0; a < k; a++) {
            row[offset + q[a]] = 0;
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Thanos

    /** Thanos, unstructured: dynamic global mask per block, multi-weight OBS with {@code inv(H[i1:, i1:])}. */
    private static void thanosUnstructured(double[][] w, double[][] h, double[] s, double p, int blockSize,
            SelectionLog log) {
        int rows = w.length;
        int cols = h.length;
        long target = floorCount(p * rows * cols);
        long done = 0;
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int width = cols - i1;
            // 1. the Z - z smallest Wanda metrics of the current W[:, i1:]; flat index r*width + (c - i1) orders
            //    exactly as the row-major flat index of the whole layer.
            double[] scores = new double[rows * width];
            for (int r = 0; r < rows; r++) {
                for (int c = i1; c < cols; c++) {
                    scores[r * width + c - i1] = wandaMetric(w, s, r, c);
                }
            }
            boolean[] selected = log.smallest(scores, Math.toIntExact(target - done));
            // 2. OBS removal of the ones inside [i1, i2), G = inv(H[i1:, i1:]) recomputed the naive way.
            double[][] g = Dense.inverseSymmetric(Dense.trailing(h, i1));
            for (int r = 0; r < rows; r++) {
                int[] q = new int[i2 - i1];
                int k = 0;
                for (int c = i1; c < i2; c++) {
                    if (selected[r * width + c - i1]) {
                        q[k++] = c - i1;
                    }
                }
                done += k;
                // 3. (inside obsRemove) the pruned entries are set to exactly zero.
                obsRemove(w[r], i1, g, java.util.Arrays.copyOf(q, k));
            }
        }
        if (done != target) {
            throw new AssertionError("reference pruned " + done + " entries, not " + target);
        }
    }

    /** Thanos, n:m: per block, the n smallest Wanda metrics of every group of m of every non-outlier row. */
    private static void thanosNOfM(double[][] w, double[][] h, double[] s, int n, int m, int blockSize,
            boolean[] outliers, SelectionLog log) {
        int rows = w.length;
        int cols = h.length;
        if (cols % m != 0 || blockSize % m != 0) {
            throw new IllegalArgumentException("n:m needs cols % m == 0 and blockSize % m == 0");
        }
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            double[][] g = Dense.inverseSymmetric(Dense.trailing(h, i1));
            for (int r = 0; r < rows; r++) {
                if (outliers[r]) {
                    continue;
                }
                int[] q = new int[(i2 - i1) / m * n];
                int k = 0;
                for (int g0 = i1; g0 < i2; g0 += m) {
                    double[] scores = new double[m];
                    for (int t = 0; t < m; t++) {
                        scores[t] = wandaMetric(w, s, r, g0 + t);
                    }
                    boolean[] selected = log.smallest(scores, n);
                    for (int t = 0; t < m; t++) {
                        if (selected[t]) {
                            q[k++] = g0 + t - i1;
                        }
                    }
                }
                obsRemove(w[r], i1, g, q);
            }
        }
    }

    /**
     * Column selection shared by Thanos and Wanda structured: {@code κ_j = s_j Σ_{i∈P} W_ij²}, the
     * {@code b = min(cols, ceil(p·cols/(1−α)))} smallest (ties: lower index).
     */
    private static int[] structuredColumns(double[][] w, double[] s, double p, double alpha, boolean[] outliers,
            SelectionLog log) {
        int cols = s.length;
        int b = (int) Math.min(cols, ceilCount(p * cols / (1 - alpha)));
        double[] kappa = new double[cols];
        for (int j = 0; j < cols; j++) {
            double sum = 0;
            for (int r = 0; r < w.length; r++) {
                if (!outliers[r]) {
                    sum += w[r][j] * w[r][j];
                }
            }
            kappa[j] = s[j] * sum;
        }
        boolean[] selected = log.smallest(kappa, b);
        int[] q = new int[b];
        int k = 0;
        for (int j = 0; j < cols; j++) {
            if (selected[j]) {
                q[k++] = j;
            }
        }
        return q;
    }

    /** Thanos, structured: one multi-weight OBS removal with {@code G = H⁻¹} for all rows of {@code P}. */
    private static void thanosStructured(double[][] w, double[][] h, double[] s, double p, double alpha,
            boolean[] outliers, SelectionLog log) {
        int[] q = structuredColumns(w, s, p, alpha, outliers, log);
        double[][] g = Dense.inverseSymmetric(h);
        for (int r = 0; r < w.length; r++) {
            if (!outliers[r]) {
                obsRemove(w[r], 0, g, q);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Baselines

    /** Magnitude, unstructured: the {@code floor(p·rows·cols)} smallest {@code |W|} of the whole layer. */
    private static void magnitudeUnstructured(double[][] w, double p, SelectionLog log) {
        int rows = w.length;
        int cols = rows == 0 ? 0 : w[0].length;
        double[] scores = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                scores[r * cols + c] = Math.abs(w[r][c]);
            }
        }
        boolean[] selected = log.smallest(scores, Math.toIntExact(floorCount(p * rows * cols)));
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (selected[r * cols + c]) {
                    w[r][c] = 0;
                }
            }
        }
    }

    /** Wanda, unstructured: in each row, the {@code floor(p·cols)} smallest Wanda metrics. No update. */
    private static void wandaUnstructured(double[][] w, double[] s, double p, SelectionLog log) {
        int cols = s.length;
        int k = (int) floorCount(p * cols);
        for (int r = 0; r < w.length; r++) {
            double[] scores = new double[cols];
            for (int c = 0; c < cols; c++) {
                scores[c] = wandaMetric(w, s, r, c);
            }
            boolean[] selected = log.smallest(scores, k);
            for (int c = 0; c < cols; c++) {
                if (selected[c]) {
                    w[r][c] = 0;
                }
            }
        }
    }

    /**
     * Magnitude ({@code s == null}: score {@code |W|}) or Wanda (score {@code |W|·sqrt(s)}) n:m: in every
     * group of m of every non-outlier row, the n smallest scores. No update.
     */
    private static void perGroup(double[][] w, int cols, int n, int m, double[] s, boolean[] outliers,
            SelectionLog log) {
        if (cols % m != 0) {
            throw new IllegalArgumentException("n:m needs cols % m == 0");
        }
        for (int r = 0; r < w.length; r++) {
            if (outliers[r]) {
                continue;
            }
            for (int g0 = 0; g0 < cols; g0 += m) {
                double[] scores = new double[m];
                for (int t = 0; t < m; t++) {
                    scores[t] = s == null ? Math.abs(w[r][g0 + t]) : wandaMetric(w, s, r, g0 + t);
                }
                boolean[] selected = log.smallest(scores, n);
                for (int t = 0; t < m; t++) {
                    if (selected[t]) {
                        w[r][g0 + t] = 0;
                    }
                }
            }
        }
    }

    /** Wanda structured (defined here, see the class comment): Thanos's column selection, then {@code W[P, Q] = 0}. */
    private static void wandaStructured(double[][] w, double[] s, double p, double alpha, boolean[] outliers,
            SelectionLog log) {
        int[] q = structuredColumns(w, s, p, alpha, outliers, log);
        for (int r = 0; r < w.length; r++) {
            if (!outliers[r]) {
                for (int j : q) {
                    w[r][j] = 0;
                }
            }
        }
    }

    /**
     * SparseGPT: {@code U} = upper Cholesky factor of {@code H⁻¹}; per block the mask (unstructured: score
     * {@code W²/U_jj²} at most the {@code floor(p·rows·width)}-th smallest, 0-based; n:m: per group when the
     * column loop reaches the group's first column), the column-by-column OBS loop, the lazy update.
     */
    private static void sparseGpt(double[][] w, double[][] h, Pattern pattern, int blockSize, SelectionLog log) {
        int rows = w.length;
        int cols = h.length;
        double[][] u = Dense.upperCholesky(Dense.inverseSymmetric(h));
        int n = 0;
        int m = 0;
        if (pattern instanceof Pattern.NOfM nm) {
            n = nm.n();
            m = nm.m();
            if (cols % m != 0 || blockSize % m != 0) {
                throw new IllegalArgumentException("n:m needs cols % m == 0 and blockSize % m == 0");
            }
        } else if (!(pattern instanceof Pattern.Unstructured)) {
            throw new IllegalArgumentException("SparseGPT has no structured variant");
        }
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int count = i2 - i1;
            double[][] w1 = new double[rows][count];
            double[][] q1 = new double[rows][count];
            double[][] err1 = new double[rows][count];
            boolean[][] mask1 = new boolean[rows][count];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(w[r], i1, w1[r], 0, count);
            }
            if (pattern instanceof Pattern.Unstructured un) {
                double[] scores = new double[rows * count];
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < count; j++) {
                        double d = u[i1 + j][i1 + j];
                        scores[r * count + j] = w1[r][j] * w1[r][j] / (d * d);
                    }
                }
                boolean[] selected = log.atMostKth(scores, Math.toIntExact(floorCount(un.sparsity() * rows * count)));
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < count; j++) {
                        mask1[r][j] = selected[r * count + j];
                    }
                }
            }
            for (int j = 0; j < count; j++) {
                if (m > 0 && j % m == 0) {
                    for (int r = 0; r < rows; r++) {
                        double[] scores = new double[m];
                        for (int t = 0; t < m; t++) {
                            double d = u[i1 + j + t][i1 + j + t];
                            scores[t] = w1[r][j + t] * w1[r][j + t] / (d * d);
                        }
                        boolean[] selected = log.smallest(scores, n);
                        for (int t = 0; t < m; t++) {
                            mask1[r][j + t] = selected[t];
                        }
                    }
                }
                double d = u[i1 + j][i1 + j];
                for (int r = 0; r < rows; r++) {
                    double wj = w1[r][j];
                    double q = mask1[r][j] ? 0 : wj;
                    q1[r][j] = q;
                    double err = (wj - q) / d;
                    for (int c = j; c < count; c++) {
                        w1[r][c] -= err * u[i1 + j][i1 + c];
                    }
                    err1[r][j] = err;
                }
            }
            for (int r = 0; r < rows; r++) {
                System.arraycopy(q1[r], 0, w[r], i1, count);
                for (int c = i2; c < cols; c++) {
                    double update = 0;
                    for (int j = 0; j < count; j++) {
                        update += err1[r][j] * u[i1 + j][c];
                    }
                    w[r][c] -= update;
                }
            }
        }
    }
}
