package dev.thanosj.model.pipeline;

/**
 * A prunable linear layer of a model: its name (as reports print it), its block, and the shape of its
 * weight in pruning layout, {@code rows} = output features x {@code cols} = input features.
 */
public record LinearRef(String name, int block, int rows, int cols) {
}
