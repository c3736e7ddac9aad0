/**
 * The sequential pruning loop shared by every architecture ({@code DESIGN.md}, "prune (a model)"): for each
 * block, capture the inputs of its linears on the current (already pruned) activations, accumulate their
 * statistics, prune them, then recompute the block's outputs with the pruned weights. An architecture
 * plugs in through {@link dev.thanosj.model.pipeline.SequentialModel} and
 * {@link dev.thanosj.model.pipeline.CalibrationPass}.
 */
package dev.thanosj.model.pipeline;
