package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import java.util.Objects;

/**
 * What to prune and how, validated on construction: the method, the pattern, the outlier-row fraction
 * {@code alpha} (Thanos n:m and structured; Wanda structured), the block size (Thanos, SparseGPT) and the
 * damping {@code percDamp}. Defaults are the field's: block size 128, percDamp 0.01, alpha 0.1 for
 * structured and 0 otherwise ({@code ALGORITHMS.md}).
 */
public record PruneSpec(Method method, Pattern pattern, double alpha, int blockSize, double percDamp) {
    public static final int DEFAULT_BLOCK_SIZE = 128;
    public static final double DEFAULT_PERC_DAMP = 0.01;
    public static final double DEFAULT_STRUCTURED_ALPHA = 0.1;

    public PruneSpec {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(pattern, "pattern");
        if (!(alpha >= 0 && alpha < 1)) {
            throw new ThanosjException("--alpha " + alpha + " must be in [0, 1)");
        }
        if (blockSize < 1) {
            throw new ThanosjException("--block-size " + blockSize + " must be >= 1");
        }
        if (!(percDamp > 0) || Double.isInfinite(percDamp)) {
            throw new ThanosjException("--perc-damp " + percDamp + " must be a positive number");
        }
        if (pattern instanceof Pattern.NOfM nm && blockSize % nm.m() != 0
                && (method == Method.THANOS || method == Method.SPARSEGPT)) {
            throw new ThanosjException("--block-size " + blockSize + " must be a multiple of m = " + nm.m()
                    + " for " + nm + " sparsity");
        }
        if (pattern instanceof Pattern.Structured st) {
            if (method == Method.MAGNITUDE || method == Method.SPARSEGPT) {
                throw new ThanosjException("--structured is supported by thanos and wanda, not " + method.id());
            }
            if (st.sparsity() / (1 - alpha) > 1 + Counts.TOLERANCE) {
                throw new ThanosjException("structured sparsity " + st.sparsity() + " with --alpha " + alpha
                        + " needs sparsity / (1 - alpha) <= 1");
            }
        }
        boolean outliersAllowed = pattern instanceof Pattern.Structured
                || (method == Method.THANOS && pattern instanceof Pattern.NOfM);
        if (alpha > 0 && !outliersAllowed) {
            throw new ThanosjException("--alpha (outlier rows) applies to thanos n:m and structured pruning, not "
                    + method.id() + " " + pattern);
        }
    }

    /** A spec with the defaults for {@code pattern}. */
    public static PruneSpec of(Method method, Pattern pattern) {
        double alpha = pattern instanceof Pattern.Structured ? DEFAULT_STRUCTURED_ALPHA : 0;
        return new PruneSpec(method, pattern, alpha, DEFAULT_BLOCK_SIZE, DEFAULT_PERC_DAMP);
    }

    /** This spec with another outlier fraction. */
    public PruneSpec withAlpha(double newAlpha) {
        return new PruneSpec(method, pattern, newAlpha, blockSize, percDamp);
    }

    /** This spec with another block size. */
    public PruneSpec withBlockSize(int newBlockSize) {
        return new PruneSpec(method, pattern, alpha, newBlockSize, percDamp);
    }

    /** This spec with another damping fraction. */
    public PruneSpec withPercDamp(double newPercDamp) {
        return new PruneSpec(method, pattern, alpha, blockSize, newPercDamp);
    }

    /** Whether the method needs the Hessian {@code H} (SparseGPT, Thanos) rather than only {@code s}. */
    public boolean needsHessian() {
        return method == Method.SPARSEGPT || method == Method.THANOS;
    }

    /** Checks the spec against a layer of {@code cols} inputs; {@code layer} names it in the message. */
    public void requireFits(String layer, int rows, int cols) {
        if (pattern instanceof Pattern.NOfM nm && cols % nm.m() != 0) {
            throw new ThanosjException(layer + ": " + cols + " input columns are not a multiple of m = " + nm.m()
                    + " (" + nm + " sparsity)");
        }
    }

    /** Short description, e.g. {@code thanos 2:4 alpha=0.1 block=128}. */
    public String describe() {
        StringBuilder b = new StringBuilder(method.id()).append(' ').append(pattern);
        if (alpha > 0) {
            b.append(" alpha=").append(alpha);
        }
        if (method == Method.THANOS || method == Method.SPARSEGPT) {
            b.append(" block=").append(blockSize);
        }
        return b.toString();
    }
}
