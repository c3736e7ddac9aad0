package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.kernels.Kernels;
import dev.thanosj.linalg.Linalg.Side;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.linalg.NotPositiveDefiniteException;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The preparation shared by every method that uses {@code H} ({@code ALGORITHMS.md}, notation): dead
 * inputs ({@code H_jj == 0}: {@code H_jj = 1}, {@code W[:, j] = 0}), damping {@code H += λI} with
 * {@code λ = percDamp · mean(diag H)}, retried with {@code percDamp × 10} at most {@value #MAX_RETRIES}
 * times when the factorisation fails. The result is either {@code H⁻¹} or its upper Cholesky factor
 * {@code U} ({@code H⁻¹ = UᵀU}), in one {@code cols x cols} buffer of the caller's arena.
 */
final class HessianPreparation {
    static final int MAX_RETRIES = 3;

    /** What the preparation produces. */
    enum Product {
        /** {@code H⁻¹}, both triangles. */
        INVERSE,
        /** {@code U}, upper triangular, with {@code H⁻¹ = UᵀU} (zeros below the diagonal). */
        INVERSE_UPPER_FACTOR
    }

    /**
     * @param matrix      {@code H⁻¹} or {@code U}
     * @param deadInputs  columns with {@code H_jj == 0}
     * @param percDamp    damping fraction that succeeded
     * @param retries     how often it was multiplied by 10
     * @param lambda      the damping added to the diagonal, {@code percDamp · mean(diag H)}
     * @param denominator {@code tr(W H Wᵀ)} with the undamped H (the loss denominator), NaN when not asked
     */
    record Prepared(FloatMatrix matrix, int deadInputs, double percDamp, int retries, float lambda,
            double denominator) {
    }

    /**
     * Rows of W per TRMM when the loss denominator is evaluated: bounds the temporary (it exists before the
     * copy of W does, so it never raises the peak), and is tall enough for OpenBLAS's TRMM to run near GEMM
     * speed (64 rows ran at a seventh of it).
     */
    private static final int CHUNK_ROWS = 512;
    /** At or below this size the triangular inverse's TRMMs run on one BLAS thread. */
    private static final int SINGLE_THREAD_TRTRI = 512;
    /** Below this size a triangular inverse is done in plain Java. */
    private static final int TRTRI_BASE = 64;

    private HessianPreparation() {
    }

    /**
     * Zeroes the weights of dead inputs in place and returns the damped {@code H}'s inverse or inverse
     * factor, allocated in {@code arena}; {@code hessian} is only read. With {@code denominator}, also
     * {@code tr(W H Wᵀ)} from the Cholesky factor it computes anyway: {@code ‖W L‖² − λ‖W‖²} (dead columns of
     * W are zero by then, and H's dead rows and columns are zero, so they add nothing either way).
     *
     * <p>{@link Product#INVERSE_UPPER_FACTOR} takes the short way: with J the reversal permutation,
     * {@code J H J = L' L'ᵀ} (one potrf), {@code V = J L' J} is upper triangular with {@code H = V Vᵀ}, and
     * {@code U = V⁻¹} is the upper factor of {@code H⁻¹ = Uᵀ U} (one triangular inverse): {@code 2n³/3} flops
     * instead of potrf + potri + potrf ({@code 4n³/3}).
     */
    static Prepared prepare(String layer, FloatMatrix weights, FloatMatrix hessian, double percDamp,
            Product product, CountingArena arena, Linalg linalg, Kernels kernels, boolean denominator,
            Phases phases) {
        int n = hessian.rows();
        boolean[] dead = new boolean[n];
        int deadCount = 0;
        double diagSum = 0;
        for (int j = 0; j < n; j++) {
            float h = hessian.get(j, j);
            if (!Float.isFinite(h)) {
                throw new ThanosjException(layer + ": the Hessian has a non-finite diagonal entry at column " + j
                        + "; the calibration inputs contain NaN or infinite values");
            }
            if (h == 0f) {
                dead[j] = true;
                deadCount++;
                diagSum += 1;
            } else {
                diagSum += h;
            }
        }
        if (deadCount > 0) {
            for (int r = 0; r < weights.rows(); r++) {
                MemorySegment row = weights.row(r);
                for (int j = 0; j < n; j++) {
                    if (dead[j]) {
                        row.setAtIndex(JAVA_FLOAT, j, 0f);
                    }
                }
            }
        }
        double meanDiag = diagSum / n;
        FloatMatrix work = FloatMatrix.allocate(arena, n, n);
        double damp = percDamp;
        boolean reversed = product == Product.INVERSE_UPPER_FACTOR;
        for (int attempt = 0; attempt <= MAX_RETRIES; attempt++, damp *= 10) {
            float lambda = (float) (damp * meanDiag);
            if (reversed) {
                LayerMath.parallelRows(linalg, n, (i0, i1) -> {
                    for (int i = i0; i < i1; i++) { // work = J H J, damped
                        int jj = n - 1 - i;
                        kernels.reverse(hessian.row(jj), work.row(i), n);
                        work.set(i, i, (dead[jj] ? 1f : hessian.get(jj, jj)) + lambda);
                    }
                });
            } else {
                work.copyFrom(hessian);
                for (int j = 0; j < n; j++) {
                    work.set(j, j, (dead[j] ? 1f : work.get(j, j)) + lambda);
                }
            }
            phases.lap("prepare");
            try {
                linalg.potrf(Triangle.LOWER, work);
            } catch (NotPositiveDefiniteException e) {
                phases.lap("factor");
                continue; // retry with ten times the damping
            }
            if (reversed) {
                rotateHalfTurn(work, linalg, kernels);
            }
            phases.lap("factor");
            double trace = Double.NaN;
            if (denominator) {
                trace = Math.max(0, normTimesTriangle(weights, work, reversed ? Triangle.UPPER : Triangle.LOWER,
                        linalg, kernels, arena) - lambda * sumSquares(weights, kernels));
                phases.lap("loss");
            }
            try {
                if (reversed) {
                    invertUpper(work, linalg);
                } else {
                    linalg.potri(Triangle.LOWER, work);
                }
            } catch (NotPositiveDefiniteException e) {
                phases.lap("factor");
                continue;
            }
            boolean finite = isFinite(work, kernels);
            phases.lap("factor");
            if (finite) {
                return new Prepared(work, deadCount, damp, attempt, lambda, trace);
            }
        }
        throw new ThanosjException(layer + ": the Hessian is not positive definite even with percDamp "
                + damp / 10 + " (" + MAX_RETRIES + " retries of x10); the calibration inputs may hold NaN/Inf"
                + " values or too few tokens; try a larger --perc-damp");
    }

    /** {@code ‖W T‖²_F} for a triangular T, {@value #CHUNK_ROWS} rows of W at a time through TRMM. */
    private static double normTimesTriangle(FloatMatrix weights, FloatMatrix t, Triangle uplo, Linalg linalg,
            Kernels kernels, CountingArena arena) {
        int rows = weights.rows();
        int cols = weights.cols();
        double total = 0;
        try (Arena scratch = arena.nested()) {
            FloatMatrix chunk = FloatMatrix.allocate(scratch, Math.min(CHUNK_ROWS, Math.max(1, rows)), cols);
            for (int r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
                int n = Math.min(CHUNK_ROWS, rows - r0);
                FloatMatrix c = chunk.rows(0, n);
                c.copyFrom(weights.rows(r0, r0 + n));
                linalg.trmm(Side.RIGHT, uplo, false, 1f, t, c);
                for (int r = 0; r < n; r++) {
                    total += kernels.sumSquares(c.row(r), cols);
                }
            }
        }
        return total;
    }

    static double sumSquares(FloatMatrix m, Kernels kernels) {
        double total = 0;
        for (int r = 0; r < m.rows(); r++) {
            total += kernels.sumSquares(m.row(r), m.cols());
        }
        return total;
    }

    /** Element (i, j) moves to (n−1−i, n−1−j): {@code J A J}, in place (rows i and n−1−i swap, reversed). */
    private static void rotateHalfTurn(FloatMatrix a, Linalg linalg, Kernels kernels) {
        int n = a.rows();
        long bytes = (long) n * Float.BYTES;
        LayerMath.parallelRows(linalg, (n + 1) / 2, (i0, i1) -> {
            MemorySegment saved = MemorySegment.ofArray(new float[n]);
            for (int i = i0; i < i1; i++) {
                MemorySegment top = a.row(i);
                MemorySegment bottom = a.row(n - 1 - i);
                MemorySegment.copy(top, 0, saved, 0, bytes);
                if (i != n - 1 - i) { // the middle row of an odd n is its own partner
                    kernels.reverse(bottom, top, n);
                }
                kernels.reverse(saved, bottom, n);
            }
        });
    }

    /**
     * Inverts an upper triangular matrix in place, recursively: {@code inv([A B; 0 C]) = [A⁻¹, −A⁻¹ B C⁻¹;
     * 0, C⁻¹]}, the off-diagonal block by two TRMMs ({@code n³/3} flops in all); small blocks in Java.
     */
    static void invertUpper(FloatMatrix t, Linalg linalg) {
        int n = t.rows();
        int saved = linalg.threads();
        if (n <= SINGLE_THREAD_TRTRI && saved > 1) {
            // small levels: one BLAS thread, so no parallel region (and its busy-wait barrier) per small TRMM
            linalg.setThreads(1);
            try {
                invertUpper(t, linalg);
            } finally {
                linalg.setThreads(saved);
            }
            return;
        }
        if (n <= TRTRI_BASE) {
            invertUpperSmall(t);
            return;
        }
        int n1 = Math.max(16, (n / 2) & ~15);
        FloatMatrix a = t.view(0, 0, n1, n1);
        FloatMatrix b = t.view(0, n1, n1, n - n1);
        FloatMatrix c = t.view(n1, n1, n - n1, n - n1);
        invertUpper(a, linalg);
        invertUpper(c, linalg);
        linalg.trmm(Side.LEFT, Triangle.UPPER, false, -1f, a, b);
        linalg.trmm(Side.RIGHT, Triangle.UPPER, false, 1f, c, b);
    }

    private static void invertUpperSmall(FloatMatrix t) {
        int n = t.rows();
        for (int j = 0; j < n; j++) {
            float d = t.get(j, j);
            if (!(d != 0f)) {
                throw new NotPositiveDefiniteException(j + 1, n);
            }
            double inv = 1.0 / d;
            t.set(j, j, (float) inv);
            for (int i = 0; i < j; i++) { // column j above the diagonal: −T⁻¹[0:j, 0:j] · T[0:j, j] / T_jj
                double s = 0;
                for (int p = i; p < j; p++) {
                    s += (double) t.get(i, p) * t.get(p, j);
                }
                t.set(i, j, (float) s);
            }
            for (int i = 0; i < j; i++) {
                t.set(i, j, (float) (-inv * t.get(i, j)));
            }
        }
    }

    private static boolean isFinite(FloatMatrix m, Kernels kernels) {
        for (int r = 0; r < m.rows(); r++) {
            if (!kernels.allFinite(m.row(r), m.cols())) {
                return false;
            }
        }
        return true;
    }
}
