/**
 * One-shot pruning of one linear layer: calibration statistics ({@link dev.thanosj.prune.LayerStatistics}),
 * the validated specification ({@link dev.thanosj.prune.PruneSpec}), the methods (magnitude, Wanda,
 * SparseGPT, Thanos — exactly as {@code ALGORITHMS.md} specifies them) behind
 * {@link dev.thanosj.prune.Pruner}, and the report ({@link dev.thanosj.prune.PruneResult}). This package
 * never sees a file format or a command line.
 */
package dev.thanosj.prune;
