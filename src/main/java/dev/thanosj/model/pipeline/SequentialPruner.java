package dev.thanosj.model.pipeline;

import dev.thanosj.prune.LayerStatistics;
import dev.thanosj.prune.PruneResult;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.prune.Pruner;
import dev.thanosj.prune.PruneWorkspace;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * The sequential loop of the reference repositories ({@code DESIGN.md}): for each block, the inputs of its
 * linears are captured on the activations of the already-pruned prefix, every linear of the block is
 * pruned from its own statistics, and the block's outputs are recomputed with the pruned weights before
 * the next block. Only one block's statistics and activations live at a time.
 */
public final class SequentialPruner {

    /** One pruned linear. */
    public record LayerReport(String name, int block, PruneResult result) {
    }

    /** Everything a run pruned, in order, and its wall time. */
    public record Report(String spec, List<LayerReport> layers, double seconds) {
        public Report {
            layers = List.copyOf(layers);
        }

        /** Zeros over all pruned linears divided by their entries. */
        public double sparsity() {
            long zeros = 0;
            long entries = 0;
            for (LayerReport l : layers) {
                zeros += l.result().zeros();
                entries += (long) l.result().rows() * l.result().cols();
            }
            return entries == 0 ? 0 : zeros / (double) entries;
        }
    }

    /** Told when a block is done. */
    @FunctionalInterface
    public interface Progress {
        void blockDone(int block, int blocks, List<LayerReport> layers);
    }

    private SequentialPruner() {
    }

    /**
     * Prunes every linear of {@code model} in place (through {@link SequentialModel#replaceWeight}) with
     * {@code spec}, calibrated on {@code pass}, which it advances through all blocks.
     */
    public static Report prune(SequentialModel model, CalibrationPass pass, PruneSpec spec, Progress progress) {
        long start = System.nanoTime();
        List<LayerReport> all = new ArrayList<>();
        for (int block = 0; block < model.blocks(); block++) {
            List<LinearRef> linears = model.linears(block);
            List<List<LinearRef>> groups = model.inputGroups(block);
            requirePartition(block, linears, groups);
            Map<LinearRef, LayerStatistics> stats = new HashMap<>();
            Map<LinearRef, LayerStatistics> fedBy = new HashMap<>();
            List<LayerReport> done = new ArrayList<>();
            try {
                for (List<LinearRef> group : groups) {
                    LayerStatistics shared = LayerStatistics.create(group.get(0).cols(), true);
                    fedBy.put(group.get(0), shared);
                    for (LinearRef linear : group) {
                        spec.requireFits(linear.name(), linear.rows(), linear.cols());
                        stats.put(linear, shared);
                    }
                }
                pass.capture(block, (linear, inputs, sequences) -> {
                    if (!stats.containsKey(linear)) {
                        throw new IllegalStateException("block " + linear.block() + " tapped unknown linear " + linear);
                    }
                    LayerStatistics s = fedBy.get(linear);
                    if (s != null) { // the other linears of a group read the same inputs
                        s.addBatch(inputs, sequences);
                    }
                });
                // the block's layers reuse one workspace; it is freed before the block's outputs are recomputed
                try (PruneWorkspace workspace = new PruneWorkspace()) {
                    for (LinearRef linear : linears) {
                        try (Arena arena = Arena.ofShared()) { // shared: the pruner works on it from the worker pool
                            FloatMatrix weight = model.weight(linear, arena);
                            PruneResult result = Pruner.prune(linear.name(), weight, stats.get(linear), spec,
                                    workspace);
                            model.replaceWeight(linear, weight);
                            done.add(new LayerReport(linear.name(), block, result));
                        }
                    }
                }
            } finally {
                fedBy.values().forEach(LayerStatistics::close);
            }
            pass.advance(block);
            all.addAll(done);
            progress.blockDone(block, model.blocks(), done);
        }
        return new Report(spec.describe(), all, (System.nanoTime() - start) / 1e9);
    }

    private static void requirePartition(int block, List<LinearRef> linears, List<List<LinearRef>> groups) {
        List<LinearRef> flat = groups.stream().flatMap(List::stream).toList();
        if (flat.size() != linears.size() || !new HashSet<>(flat).equals(new HashSet<>(linears))
                || groups.stream().anyMatch(g -> g.isEmpty() || g.stream().anyMatch(l -> l.cols() != g.get(0).cols()))) {
            throw new IllegalStateException("block " + block + ": input groups " + groups + " do not partition " + linears);
        }
    }
}
