package dev.thanosj.linalg;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.tensor.FloatMatrix;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Dense float32 linear algebra on row-major {@link FloatMatrix} views (any row stride). Shapes are checked
 * here, at the public boundary, with messages that name the operation and the shapes; numerical failures
 * are typed ({@link NotPositiveDefiniteException}). Every operation works in place on its output argument.
 */
public interface Linalg {

    /** Which triangle of a square matrix an operation reads or writes. */
    enum Triangle { LOWER, UPPER }

    /** Whether the triangular matrix multiplies from the left or the right. */
    enum Side { LEFT, RIGHT }

    /** The provider chosen for this process (see {@link LinalgProvider}). */
    static Linalg get() {
        return LinalgProvider.get();
    }

    /** Short name: {@code openblas} or {@code java}. */
    String name();

    /** One line for logs and {@code thanosj env}: library, version, configuration, threads. */
    String description();

    /** Threads the provider uses for one call. */
    int threads();

    /** Sets the threads used for one call (≥ 1). */
    void setThreads(int threads);

    /** {@code C = alpha * op(A) * op(B) + beta * C}, {@code op(X)} being X or Xᵀ; modifies C. */
    void gemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b, float beta, FloatMatrix c);

    /**
     * {@code C = alpha * AᵀA + beta * C} when {@code transA}, else {@code C = alpha * AAᵀ + beta * C};
     * modifies both triangles of the square C.
     */
    void syrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c);

    /**
     * Cholesky factorisation in place: {@code A = L Lᵀ} (LOWER) or {@code A = Uᵀ U} (UPPER). Reads only
     * that triangle of A, writes the factor there and zeroes the other triangle.
     *
     * @throws NotPositiveDefiniteException naming the first leading minor that is not positive
     */
    void potrf(Triangle uplo, FloatMatrix a);

    /**
     * Overwrites a Cholesky factor (as {@link #potrf} leaves it) with the full symmetric inverse of the
     * matrix it factors.
     */
    void potri(Triangle uplo, FloatMatrix factor);

    /**
     * Triangular solve in place: {@code B = alpha * op(A)⁻¹ * B} (LEFT) or {@code B = alpha * B * op(A)⁻¹}
     * (RIGHT); only the {@code uplo} triangle of A is read.
     */
    void trsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b);

    /**
     * Triangular multiply in place: {@code B = alpha * op(A) * B} (LEFT) or {@code B = alpha * B * op(A)}
     * (RIGHT); only the {@code uplo} triangle of A is read.
     */
    void trmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b);

    /**
     * Solves {@code A X = B} for a small symmetric positive definite A ({@code k x k}, both triangles
     * given): B ({@code k x nrhs}) becomes X, A is overwritten by its lower Cholesky factor. Safe to call
     * from many threads at once.
     *
     * @throws NotPositiveDefiniteException when A is not positive definite
     */
    void posv(FloatMatrix a, FloatMatrix b);

    /** {@link #posv} for every pair {@code (as[i], bs[i])}, spread over the worker pool. */
    default void posvBatch(List<FloatMatrix> as, List<FloatMatrix> bs) {
        if (as.size() != bs.size()) {
            throw new IllegalArgumentException("posvBatch: " + as.size() + " matrices, " + bs.size() + " right-hand sides");
        }
        parallelFor(as.size(), i -> posv(as.get(i), bs.get(i)));
    }

    /**
     * Runs {@code body(i)} for {@code i} in {@code [0, n)} on the worker pool with this provider limited to
     * one thread per call meanwhile, so Java's and the library's threads never oversubscribe the cores.
     */
    default void parallelFor(int n, IntConsumer body) {
        int saved = threads();
        boolean cap = Workers.threads() > 1 && saved > 1;
        if (cap) {
            setThreads(1);
        }
        try {
            Workers.parallelFor(n, body);
        } finally {
            if (cap) {
                setThreads(saved);
            }
        }
    }
}
