package dev.thanosj.linalg;

import dev.thanosj.tensor.FloatMatrix;

/** PLACEHOLDER: being implemented. */
final class JavaLinalg extends CheckedLinalg {

    @Override public String name() { throw new UnsupportedOperationException(); }
    @Override public String description() { throw new UnsupportedOperationException(); }
    @Override public int threads() { throw new UnsupportedOperationException(); }
    @Override public void setThreads(int threads) { throw new UnsupportedOperationException(); }
    @Override protected void doGemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b, float beta, FloatMatrix c) { throw new UnsupportedOperationException(); }
    @Override protected void doSyrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c) { throw new UnsupportedOperationException(); }
    @Override protected void doPotrf(Triangle uplo, FloatMatrix a) { throw new UnsupportedOperationException(); }
    @Override protected void doPotri(Triangle uplo, FloatMatrix factor) { throw new UnsupportedOperationException(); }
    @Override protected void doTrsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) { throw new UnsupportedOperationException(); }
    @Override protected void doTrmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) { throw new UnsupportedOperationException(); }
    @Override protected void doPosv(FloatMatrix a, FloatMatrix b) { throw new UnsupportedOperationException(); }
}
