package dev.thanosj.linalg;

/** A Cholesky factorisation failed: the leading minor of order {@link #leadingMinor()} is not positive. */
public final class NotPositiveDefiniteException extends ArithmeticException {
    private final int leadingMinor;

    public NotPositiveDefiniteException(int leadingMinor, int order) {
        super("matrix of order " + order + " is not positive definite: leading minor " + leadingMinor
                + " is not positive");
        this.leadingMinor = leadingMinor;
    }

    /** The 1-based order of the first leading minor that is not positive (LAPACK's {@code info}). */
    public int leadingMinor() {
        return leadingMinor;
    }
}
