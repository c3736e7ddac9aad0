/**
 * Dense linear algebra on {@link dev.thanosj.tensor.FloatMatrix} views: GEMM, SYRK, Cholesky, the SPD
 * inverse from its factor, triangular solve and multiply, small SPD solves. {@link dev.thanosj.linalg.Linalg}
 * is the interface; OpenBLAS through the Foreign Function &amp; Memory API and a pure-Java (Vector API)
 * implementation stand behind it, chosen once by {@link dev.thanosj.linalg.LinalgProvider}.
 */
package dev.thanosj.linalg;
