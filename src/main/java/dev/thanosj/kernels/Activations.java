package dev.thanosj.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The elementwise and row-wise float kernels of a transformer's forward pass that BLAS does not do: GELU,
 * softmax, LayerNorm, and the erf and exp they are built on. Two implementations, {@link ScalarActivations}
 * and {@code PanamaActivations} (Vector API), on the same ladder as {@link Kernels} ({@link VectorSupport},
 * {@code -Dthanosj.kernels=scalar|panama}); chosen once per process by {@link #get()}. Accuracy (the same for
 * both, see {@link FloatMath}): erf within 1e-7 absolute, exp within 1 ulp.
 *
 * <p>Conventions as in {@link Kernels}: a "row" is a {@link MemorySegment} of at least {@code n} floats in
 * native byte order (a {@code FloatMatrix} row or part of one); sizes are checked by the callers, kernels only
 * {@code assert}. Every method works in place on {@code row}.
 */
public interface Activations {

    /** The provider chosen for this process (the Vector API one where {@link VectorSupport} allows it). */
    static Activations get() {
        return ActivationsProvider.get();
    }

    /** Short name: {@code scalar} or {@code panama}. */
    String name();

    /** {@code row[i] = erf(row[i])} for {@code i < n} (absolute error ≤ 1e-7); modifies row. */
    void erf(MemorySegment row, int n);

    /** {@code row[i] = e^row[i]} for {@code i < n} (≤ 1 ulp); modifies row. */
    void exp(MemorySegment row, int n);

    /**
     * {@code row[i] = GELU(row[i]) = row[i]·Φ(row[i])}, the exact (erf) GELU, for {@code i < n}; modifies row.
     */
    void gelu(MemorySegment row, int n);

    /**
     * {@code row[i] = e^(row[i] − max) / Σ_j e^(row[j] − max)} for {@code i < n}, max the largest entry;
     * modifies row. A row with no finite maximum (or with a NaN) becomes NaN.
     */
    void softmax(MemorySegment row, int n);

    /**
     * LayerNorm of a row, optionally after a residual add: {@code v = row + residual} (just {@code row} when
     * residual is null), then {@code row[i] = (v[i] − mean(v)) / sqrt(var(v) + eps) · gamma[i] + beta[i]}
     * (biased variance, as BERT); modifies row only.
     */
    void layerNorm(MemorySegment row, MemorySegment residual, MemorySegment gamma, MemorySegment beta, float eps, int n);
}
