package dev.thanosj.prune;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What pruning one layer achieved ({@code ALGORITHMS.md}: relative reconstruction loss
 * {@code tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)}, computed from {@code H}, so the inputs need not be kept).
 *
 * @param spec             the spec, described ({@link PruneSpec#describe()})
 * @param rows             output features
 * @param cols             input features
 * @param zeros            entries that are exactly zero after pruning
 * @param sparsity         {@code zeros / (rows · cols)}
 * @param rowSparsityMin   smallest fraction of zeros in a row
 * @param rowSparsityMax   largest fraction of zeros in a row
 * @param relativeLoss     the relative reconstruction loss; NaN when the statistics hold no {@code H}
 * @param deadInputs       input columns whose {@code H_jj} was zero (their weights were zeroed)
 * @param percDamp         the damping fraction finally used (0 for methods that do not factor {@code H})
 * @param dampingRetries   how often the damping was multiplied by 10 before the factorisation succeeded
 * @param seconds          wall time per phase, in the order the phases ran
 */
public record PruneResult(String spec, int rows, int cols, long zeros, double sparsity, double rowSparsityMin,
        double rowSparsityMax, double relativeLoss, int deadInputs, double percDamp, int dampingRetries,
        Map<String, Double> seconds) {

    public PruneResult {
        seconds = Collections.unmodifiableMap(new LinkedHashMap<>(seconds));
    }

    /** Total wall time of all phases, in seconds. */
    public double totalSeconds() {
        return seconds.values().stream().mapToDouble(Double::doubleValue).sum();
    }
}
