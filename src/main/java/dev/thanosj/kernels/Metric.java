package dev.thanosj.kernels;

/**
 * How a kernel turns a weight {@code w} and a per-column factor {@code f} into a non-negative score, whose
 * IEEE bit pattern (sign cleared, so {@code -0.0} counts as {@code 0.0}) orders like the value. Every kernel
 * computes the score with exactly these float operations, so all providers agree bit for bit.
 */
public enum Metric {
    /** {@code |w| · f}: the Wanda metric with {@code f = sqrt(s_j)}, magnitude with {@code f = 1}. */
    ABS_SCALED,
    /** {@code (w · w) / f}: SparseGPT's saliency with {@code f = d_j · d_j} ({@code d_j = U_jj}). */
    SQUARE_OVER;

    /** The score of {@code w} with factor {@code f}. */
    public float score(float w, float f) {
        return this == ABS_SCALED ? Math.abs(w) * f : (w * w) / f;
    }

    /** The bit pattern of the score, sign cleared. */
    public int bits(float w, float f) {
        return Float.floatToRawIntBits(score(w, f)) & 0x7fffffff;
    }
}
