package dev.thanosj.prune;

/**
 * Counts taken from ratios, in double precision with a tolerance of 1e-9 ({@code ALGORITHMS.md}, notation):
 * {@code floor(x + 1e-9)} and {@code ceil(x - 1e-9)}, so {@code 0.3 × 40} gives 12 whatever the rounding.
 */
final class Counts {
    static final double TOLERANCE = 1e-9;

    private Counts() {
    }

    static long floor(double x) {
        return (long) Math.floor(x + TOLERANCE);
    }

    static long ceil(double x) {
        return (long) Math.ceil(x - TOLERANCE);
    }
}
