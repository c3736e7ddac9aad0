package dev.thanosj.prune;

import dev.thanosj.tensor.FloatMatrix;

/** Entry point: prunes one layer's weights in place with the method of a {@link PruneSpec}. */
public final class Pruner {
    private Pruner() {
    }

    /**
     * Prunes {@code weights} ({@code rows x cols}, modified in place) as {@code spec} says, using the
     * calibration statistics {@code stats}; {@code layer} names the layer in error messages.
     */
    public static PruneResult prune(String layer, FloatMatrix weights, LayerStatistics stats, PruneSpec spec) {
        throw new UnsupportedOperationException("being implemented");
    }
}
