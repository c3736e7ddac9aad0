package dev.thanosj.reference;

import java.util.ArrayList;
import java.util.List;

/** Mask and weight comparisons with messages that say where two results differ. */
public final class Compare {
    private Compare() {
    }

    /**
     * The positions where exactly one of {@code expected} and {@code actual} is zero, described (at most
     * five shown); empty when the masks (sets of exact zeros) are equal.
     */
    public static String maskDifference(double[][] expected, double[][] actual) {
        List<String> shown = new ArrayList<>();
        int differences = 0;
        for (int r = 0; r < expected.length; r++) {
            for (int c = 0; c < expected[r].length; c++) {
                if ((expected[r][c] == 0) != (actual[r][c] == 0)) {
                    if (shown.size() < 5) {
                        shown.add("(" + r + "," + c + ") expected " + expected[r][c] + " actual " + actual[r][c]);
                    }
                    differences++;
                }
            }
        }
        return differences == 0 ? "" : differences + " mask differences, e.g. " + String.join("; ", shown);
    }

    /** Number of exact zeros of {@code a}. */
    public static long zeros(double[][] a) {
        long z = 0;
        for (double[] row : a) {
            for (double v : row) {
                if (v == 0) {
                    z++;
                }
            }
        }
        return z;
    }

    /** {@code max |expected − actual|} (infinite when either holds a NaN). */
    public static double maxDifference(double[][] expected, double[][] actual) {
        double max = 0;
        for (int r = 0; r < expected.length; r++) {
            for (int c = 0; c < expected[r].length; c++) {
                double d = Math.abs(expected[r][c] - actual[r][c]);
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(max, d);
            }
        }
        return max;
    }

    /** Where {@code |expected − actual|} is largest, described. */
    public static String worstDifference(double[][] expected, double[][] actual) {
        double max = -1;
        int wr = 0;
        int wc = 0;
        for (int r = 0; r < expected.length; r++) {
            for (int c = 0; c < expected[r].length; c++) {
                double d = Math.abs(expected[r][c] - actual[r][c]);
                if (Double.isNaN(d) || d > max) {
                    max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                    wr = r;
                    wc = c;
                }
            }
        }
        return "largest difference " + max + " at (" + wr + "," + wc + "): expected " + expected[wr][wc]
                + " actual " + actual[wr][wc];
    }
}
