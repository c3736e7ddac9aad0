package dev.thanosj.prune;

import dev.thanosj.ThanosjException;

/** Which entries a method may prune: any entries, n of every m consecutive, or whole input columns. */
public sealed interface Pattern {

    /** Any entries; a fraction {@code sparsity} of them. */
    record Unstructured(double sparsity) implements Pattern {
        public Unstructured {
            requireSparsity(sparsity);
        }

        @Override
        public String toString() {
            return Double.toString(sparsity);
        }
    }

    /** In every group of {@code m} consecutive columns of a row, {@code n} entries. */
    record NOfM(int n, int m) implements Pattern {
        public NOfM {
            if (n <= 0 || m <= 0 || n >= m) {
                throw new ThanosjException("n:m sparsity " + n + ":" + m + " needs 0 < n < m");
            }
        }

        @Override
        public String toString() {
            return n + ":" + m;
        }
    }

    /** Whole input columns; a fraction {@code sparsity} of the layer. */
    record Structured(double sparsity) implements Pattern {
        public Structured {
            requireSparsity(sparsity);
        }

        @Override
        public String toString() {
            return sparsity + " structured";
        }
    }

    /**
     * Parses {@code --sparsity}: a ratio in [0, 1) such as {@code 0.5}, or {@code n:m} such as {@code 2:4};
     * {@code structured} turns a ratio into whole-column pruning.
     */
    static Pattern parse(String text, boolean structured) {
        String s = text.trim();
        int colon = s.indexOf(':');
        if (colon >= 0) {
            if (structured) {
                throw new ThanosjException("--sparsity " + text + ": n:m cannot be combined with --structured");
            }
            try {
                return new NOfM(Integer.parseInt(s.substring(0, colon).trim()),
                        Integer.parseInt(s.substring(colon + 1).trim()));
            } catch (NumberFormatException e) {
                throw new ThanosjException("--sparsity " + text + " is not n:m with integers n and m (e.g. 2:4)");
            }
        }
        double ratio;
        try {
            ratio = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new ThanosjException("--sparsity " + text + " is neither a ratio in [0, 1) (e.g. 0.5) nor n:m (e.g. 2:4)");
        }
        return structured ? new Structured(ratio) : new Unstructured(ratio);
    }

    private static void requireSparsity(double sparsity) {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new ThanosjException("sparsity " + sparsity + " must be in [0, 1)");
        }
    }
}
