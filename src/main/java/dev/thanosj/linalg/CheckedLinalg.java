package dev.thanosj.linalg;

import dev.thanosj.tensor.FloatMatrix;

/**
 * Validates the arguments of every {@link Linalg} operation once, here, and hands valid input to the
 * implementation's {@code do*} methods, which may then assume consistent shapes and use {@code assert} only.
 */
abstract class CheckedLinalg implements Linalg {

    @Override
    public final void gemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b, float beta,
            FloatMatrix c) {
        int m = transA ? a.cols() : a.rows();
        int k = transA ? a.rows() : a.cols();
        int kb = transB ? b.cols() : b.rows();
        int n = transB ? b.rows() : b.cols();
        if (k != kb || c.rows() != m || c.cols() != n) {
            throw new IllegalArgumentException("gemm: op(A) " + m + "x" + k + " times op(B) " + kb + "x" + n
                    + " into C " + c.shape());
        }
        if (m == 0 || n == 0) {
            return;
        }
        doGemm(transA, transB, alpha, a, b, beta, c);
    }

    @Override
    public final void syrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c) {
        int n = transA ? a.cols() : a.rows();
        if (c.rows() != n || c.cols() != n) {
            throw new IllegalArgumentException("syrk: " + (transA ? "AᵀA" : "AAᵀ") + " of A " + a.shape()
                    + " is " + n + "x" + n + ", C is " + c.shape());
        }
        if (n == 0) {
            return;
        }
        doSyrk(transA, alpha, a, beta, c);
    }

    @Override
    public final void potrf(Triangle uplo, FloatMatrix a) {
        requireSquare("potrf", a);
        if (a.rows() > 0) {
            doPotrf(uplo, a);
        }
    }

    @Override
    public final void potri(Triangle uplo, FloatMatrix factor) {
        requireSquare("potri", factor);
        if (factor.rows() > 0) {
            doPotri(uplo, factor);
        }
    }

    @Override
    public final void trsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) {
        requireTriangularOperand("trsm", side, a, b);
        if (b.rows() > 0 && b.cols() > 0) {
            doTrsm(side, uplo, transA, alpha, a, b);
        }
    }

    @Override
    public final void trmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) {
        requireTriangularOperand("trmm", side, a, b);
        if (b.rows() > 0 && b.cols() > 0) {
            doTrmm(side, uplo, transA, alpha, a, b);
        }
    }

    @Override
    public final void posv(FloatMatrix a, FloatMatrix b) {
        requireSquare("posv", a);
        if (b.rows() != a.rows()) {
            throw new IllegalArgumentException("posv: A is " + a.shape() + ", B is " + b.shape());
        }
        if (a.rows() > 0) {
            doPosv(a, b);
        }
    }

    private static void requireSquare(String op, FloatMatrix a) {
        if (a.rows() != a.cols()) {
            throw new IllegalArgumentException(op + ": matrix must be square, is " + a.shape());
        }
    }

    private static void requireTriangularOperand(String op, Side side, FloatMatrix a, FloatMatrix b) {
        requireSquare(op, a);
        int needed = side == Side.LEFT ? b.rows() : b.cols();
        if (a.rows() != needed) {
            throw new IllegalArgumentException(op + ": triangular A " + a.shape() + " does not fit B " + b.shape()
                    + " on the " + side.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    protected abstract void doGemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b,
            float beta, FloatMatrix c);

    protected abstract void doSyrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c);

    protected abstract void doPotrf(Triangle uplo, FloatMatrix a);

    protected abstract void doPotri(Triangle uplo, FloatMatrix factor);

    protected abstract void doTrsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a,
            FloatMatrix b);

    protected abstract void doTrmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a,
            FloatMatrix b);

    protected abstract void doPosv(FloatMatrix a, FloatMatrix b);
}
