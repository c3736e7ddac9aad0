/**
 * SIMD kernels for the work BLAS does not do (selection, masks, gathers, scaled updates): an interface
 * with a scalar and a Vector API implementation behind a provider. Only the {@code Panama*} classes
 * import {@code jdk.incubator.vector}; everything else, including {@link dev.thanosj.kernels.VectorSupport}
 * which decides whether they may be used, stays loadable on a JVM without that module.
 */
package dev.thanosj.kernels;
