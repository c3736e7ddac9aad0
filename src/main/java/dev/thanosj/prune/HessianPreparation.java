package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.linalg.Linalg.Triangle;
import dev.thanosj.linalg.NotPositiveDefiniteException;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;

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
     */
    record Prepared(FloatMatrix matrix, int deadInputs, double percDamp, int retries) {
    }

    private HessianPreparation() {
    }

    /**
     * Zeroes the weights of dead inputs in place and returns the damped {@code H}'s inverse or inverse
     * factor, allocated in {@code arena}; {@code hessian} is only read.
     */
    static Prepared prepare(String layer, FloatMatrix weights, FloatMatrix hessian, double percDamp,
            Product product, Arena arena, Linalg linalg) {
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
        for (int r = 0; r < weights.rows(); r++) {
            for (int j = 0; j < n; j++) {
                if (dead[j]) {
                    weights.set(r, j, 0f);
                }
            }
        }
        double meanDiag = diagSum / n;
        FloatMatrix work = FloatMatrix.allocate(arena, n, n);
        double damp = percDamp;
        for (int attempt = 0; attempt <= MAX_RETRIES; attempt++, damp *= 10) {
            work.copyFrom(hessian);
            float lambda = (float) (damp * meanDiag);
            for (int j = 0; j < n; j++) {
                work.set(j, j, (dead[j] ? 1f : work.get(j, j)) + lambda);
            }
            try {
                linalg.potrf(Triangle.LOWER, work);
                linalg.potri(Triangle.LOWER, work);
                if (product == Product.INVERSE_UPPER_FACTOR) {
                    linalg.potrf(Triangle.UPPER, work);
                }
                if (!isFinite(work)) {
                    continue;
                }
                return new Prepared(work, deadCount, damp, attempt);
            } catch (NotPositiveDefiniteException e) {
                // retry with ten times the damping
            }
        }
        throw new ThanosjException(layer + ": the Hessian is not positive definite even with percDamp "
                + damp / 10 + " (" + MAX_RETRIES + " retries of x10); the calibration inputs may hold NaN/Inf"
                + " values or too few tokens; try a larger --perc-damp");
    }

    private static boolean isFinite(FloatMatrix m) {
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                if (!Float.isFinite(m.get(r, c))) {
                    return false;
                }
            }
        }
        return true;
    }
}
