package dev.thanosj.linalg;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.tensor.FloatMatrix;

/**
 * The pure-Java provider: BLAS-3 and Cholesky on the Vector API ({@code jdk.incubator.vector}), used when
 * OpenBLAS cannot load or when {@code -Dthanosj.linalg=java} forces it. Everything rests on one blocked,
 * packed, register-tiled GEMM ({@link JavaGemm}, whose class comment describes the loop shape and unroll);
 * {@link JavaTriangular} (TRSM, TRMM, SYRK) and {@link JavaCholesky} (POTRF, POTRI, POSV) put their
 * O(n³) work on it. Large products are split over the {@link Workers} pool, at most {@link #threads()} ways;
 * matrices in a confined arena are worked on by the calling thread only. Safe for concurrent use.
 */
final class JavaLinalg extends CheckedLinalg {
    private volatile int threads = Workers.threads();

    /** {@code java}; modifies nothing. */
    @Override
    public String name() {
        return "java";
    }

    /** Vector width, FMA and threads, e.g. {@code pure Java (Vector API 512-bit, FMA) threads=2}; modifies nothing. */
    @Override
    public String description() {
        return "pure Java (Vector API " + JavaGemm.SPECIES.vectorBitSize() + "-bit" + (JavaGemm.FMA ? ", FMA" : "")
                + ") threads=" + threads;
    }

    /** Threads one call may use (the worker pool's size until {@link #setThreads} says otherwise); modifies nothing. */
    @Override
    public int threads() {
        return threads;
    }

    /** Sets the number of threads one call may use; modifies this provider. */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
    }

    @Override
    protected void doGemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b, float beta,
            FloatMatrix c) {
        JavaGemm.gemm(transA, transB, alpha, a, b, beta, c, JavaRows.usableThreads(threads, a, b, c));
    }

    @Override
    protected void doSyrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c) {
        JavaTriangular.syrk(transA, alpha, a, beta, c, JavaRows.usableThreads(threads, a, c));
    }

    @Override
    protected void doPotrf(Triangle uplo, FloatMatrix a) {
        JavaCholesky.potrf(uplo, a, JavaRows.usableThreads(threads, a));
    }

    @Override
    protected void doPotri(Triangle uplo, FloatMatrix factor) {
        JavaCholesky.potri(uplo, factor, JavaRows.usableThreads(threads, factor));
    }

    @Override
    protected void doTrsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) {
        JavaTriangular.trsm(side, uplo, transA, alpha, a, b, JavaRows.usableThreads(threads, a, b));
    }

    @Override
    protected void doTrmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) {
        JavaTriangular.trmm(side, uplo, transA, alpha, a, b, JavaRows.usableThreads(threads, a, b));
    }

    @Override
    protected void doPosv(FloatMatrix a, FloatMatrix b) {
        JavaCholesky.posv(a, b);
    }
}
