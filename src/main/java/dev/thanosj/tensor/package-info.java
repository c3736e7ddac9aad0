/**
 * Off-heap float32 matrices: {@link dev.thanosj.tensor.FloatMatrix} is a row-major view (rows, cols, row
 * stride) over a {@link java.lang.foreign.MemorySegment} owned by an {@link java.lang.foreign.Arena};
 * rows, column blocks and sub-matrices are views, never copies. {@link dev.thanosj.tensor.DType} converts
 * between float32 and the storage types of model files (F32, BF16, F16, little-endian).
 */
package dev.thanosj.tensor;
