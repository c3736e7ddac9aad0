package dev.thanosj.model.pipeline;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * What the sequential pruning loop needs from an architecture: its blocks, their prunable linears, and
 * their weights in pruning layout ({@code [out, in]}, float32), which it reads and replaces. How a block
 * computes lives in the architecture's {@link CalibrationPass}.
 */
public interface SequentialModel {

    /** Number of transformer blocks. */
    int blocks();

    /** The prunable linears of {@code block}, in the order the block uses them. */
    List<LinearRef> linears(int block);

    /**
     * The linears of {@code block} grouped by the input they read (q, k and v read the same activations):
     * one set of statistics serves a whole group, which gives the same pruning as one set per linear. Every
     * linear of the block is in exactly one group; the default puts each alone.
     */
    default List<List<LinearRef>> inputGroups(int block) {
        return linears(block).stream().map(List::of).toList();
    }

    /** The current weight of {@code linear} as a new {@code [out, in]} float32 matrix in {@code arena}. */
    FloatMatrix weight(LinearRef linear, Arena arena);

    /**
     * Replaces the weight of {@code linear} by {@code weight} ({@code [out, in]}, copied), for every later
     * forward pass and for saving.
     */
    void replaceWeight(LinearRef linear, FloatMatrix weight);
}
