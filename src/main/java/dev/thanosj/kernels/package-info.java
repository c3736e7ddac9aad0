/**
 * SIMD kernels for the work BLAS does not do (scores, the passes of the exact k-smallest selection, n:m
 * masks, masked zeroing, gathers and scatters, the per-row small SPD solves batched across rows, the
 * reductions of the loss): the {@link dev.thanosj.kernels.Kernels} interface with a scalar and a Vector API
 * implementation, chosen once per process by {@link dev.thanosj.kernels.KernelsProvider} (Panama when
 * {@code jdk.incubator.vector} is present and the vectors are at least 128 bits wide, scalar otherwise;
 * {@code -Dthanosj.kernels=scalar|panama} forces; logged once). Only the {@code Panama*} classes import
 * {@code jdk.incubator.vector}; everything else, including {@link dev.thanosj.kernels.VectorSupport} which
 * decides whether they may be used, stays loadable on a JVM without that module.
 */
package dev.thanosj.kernels;
