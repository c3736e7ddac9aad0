package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import dev.thanosj.kernels.Kernels;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.prune.HessianPreparation.Prepared;
import dev.thanosj.prune.HessianPreparation.Product;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Entry point: prunes one layer's weights in place with the method of a {@link PruneSpec} and reports
 * what it achieved, with the wall time per phase (prepare, factor, mask, solve, update, loss). Memory
 * ({@link PruneMemory} counts it): besides the weights and the statistics, one {@code cols x cols} factor
 * and, for SparseGPT and unstructured/n:m Thanos, one copy of the weights (for the loss); that copy and the
 * per-block scratch live in the factor's unused lower triangle when they fit ({@link WeightsCopy},
 * {@link Workspace}). All of it comes from a {@link PruneWorkspace}: the caller's, which keeps it for the
 * next layer, or a fresh one freed before returning. The loss of SparseGPT and Thanos comes from quantities
 * the methods compute anyway ({@code tr(ΔW H_d ΔWᵀ) = ‖E‖²} with the damped H, minus {@code λ‖ΔW‖²}; the
 * denominator from the Cholesky factor), so no {@code rows x cols x cols} GEMM is spent on reporting.
 */
public final class Pruner {
    private Pruner() {
    }

    /** A thread that is never started: a segment it may access is accessible from the worker pool. */
    private static final Thread WORKER_PROBE = Thread.ofPlatform().unstarted(() -> { });

    /**
     * Prunes {@code weights} ({@code rows x cols}, modified in place) as {@code spec} says, using the
     * calibration statistics {@code stats} (only read); {@code layer} names the layer in error messages.
     *
     * @throws ThanosjException when the shapes do not fit, the weights are not finite, or {@code H} stays
     *                          singular after the damping retries
     */
    public static PruneResult prune(String layer, FloatMatrix weights, LayerStatistics stats, PruneSpec spec) {
        try (PruneWorkspace workspace = new PruneWorkspace()) {
            return prune(layer, weights, stats, spec, workspace);
        }
    }

    /**
     * {@link #prune(String, FloatMatrix, LayerStatistics, PruneSpec)} with its off-heap working memory from
     * {@code workspace}, which keeps it for the next call (layers pruned one after another reuse the same
     * pages).
     */
    public static PruneResult prune(String layer, FloatMatrix weights, LayerStatistics stats, PruneSpec spec,
            PruneWorkspace workspace) {
        int rows = weights.rows();
        int cols = weights.cols();
        if (stats.cols() != cols) {
            throw new ThanosjException(layer + ": weight has " + cols + " input columns, the statistics have "
                    + stats.cols());
        }
        if (spec.needsHessian() && !stats.hasHessian()) {
            throw new IllegalArgumentException(layer + ": " + spec.method().id() + " needs statistics with the Hessian");
        }
        spec.requireFits(layer, rows, cols);
        if (!weights.segment().isAccessibleBy(WORKER_PROBE)) {
            throw new IllegalArgumentException(layer + ": the weights live in a confined arena; the pruner's worker"
                    + " threads update them, so allocate them in a shared (or global/automatic) arena");
        }
        Linalg linalg = Linalg.get();
        Kernels kernels = Kernels.get();
        requireFinite(layer, "weight", weights, kernels);
        requireFinite(layer, "calibration statistic s", stats.scaler(), kernels);
        Phases phases = new Phases();
        if (!spec.needsHessian()) {
            phases.declare("mask", "loss");
        } else if (spec.pattern() instanceof Pattern.Structured) {
            phases.declare("prepare", "factor", "update", "loss");
        } else {
            phases.declare("prepare", "factor", "mask", "solve", "update", "loss");
        }
        Prepared prepared = null;
        double relativeLoss = Double.NaN;
        try (CountingArena arena = new CountingArena(workspace)) {
            if (spec.needsHessian()) {
                boolean structured = spec.pattern() instanceof Pattern.Structured;
                prepared = HessianPreparation.prepare(layer, weights, stats.hessian(), spec.percDamp(),
                        structured ? Product.INVERSE : Product.INVERSE_UPPER_FACTOR, arena, linalg, kernels, true,
                        phases);
                double numerator;
                if (structured) {
                    double[] parts = Thanos.pruneStructured(weights, stats, prepared.matrix(), spec, linalg, kernels,
                            arena);
                    phases.lap("update");
                    numerator = parts[0] - prepared.lambda() * parts[1];
                } else {
                    // deliberate copy: ‖Ŵ − W‖² gives the damping's share of the loss (no other GEMM needed)
                    int blockSize = Math.min(spec.blockSize(), cols);
                    WeightsCopy original = WeightsCopy.of(weights, prepared.matrix(),
                            Workspace.firstFreeRow(rows, blockSize), blockSize, arena);
                    phases.lap("prepare");
                    double energy = spec.method() == Method.SPARSEGPT
                            ? SparseGpt.prune(weights, prepared.matrix(), spec, linalg, kernels, arena, phases)
                            : Thanos.pruneBlocks(weights, stats, prepared.matrix(), spec, linalg, kernels, arena,
                                    phases);
                    double deltaSquares = original.squaredDistance(weights, kernels);
                    numerator = energy - prepared.lambda() * deltaSquares;
                }
                relativeLoss = ratio(Math.max(0, numerator), prepared.denominator());
                phases.lap("loss");
            } else {
                FloatMatrix original = null;
                double denominator = Double.NaN;
                if (stats.hasHessian()) {
                    original = weights.copy(arena); // deliberate: the loss needs W next to Ŵ
                    denominator = LayerMath.quadraticTrace(original, stats.hessian(), linalg, kernels, arena);
                    phases.lap("loss");
                }
                switch (spec.method()) {
                    case MAGNITUDE -> Magnitude.prune(weights, spec.pattern(), linalg, kernels);
                    case WANDA -> Wanda.prune(weights, stats, spec, linalg, kernels);
                    default -> throw new AssertionError(spec.method());
                }
                phases.lap("mask");
                if (original == null) {
                    phases.remove("loss");
                } else {
                    subtractInto(original, weights);
                    relativeLoss = ratio(LayerMath.quadraticTrace(original, stats.hessian(), linalg, kernels, arena),
                            denominator);
                    phases.lap("loss");
                }
            }
        }
        return result(spec, weights, relativeLoss, prepared, phases.seconds(), kernels);
    }

    private static double ratio(double numerator, double denominator) {
        return denominator > 0 ? numerator / denominator : (numerator == 0 ? 0 : Double.POSITIVE_INFINITY);
    }

    private static void requireFinite(String layer, String what, FloatMatrix values, Kernels kernels) {
        for (int r = 0; r < values.rows(); r++) {
            MemorySegment row = values.row(r);
            if (kernels.allFinite(row, values.cols())) {
                continue;
            }
            for (int c = 0; c < values.cols(); c++) {
                if (!Float.isFinite(row.getAtIndex(JAVA_FLOAT, c))) {
                    throw new ThanosjException(layer + ": " + what + " [" + r + ", " + c + "] is "
                            + row.getAtIndex(JAVA_FLOAT, c) + "; it must be finite (NaN or infinity in the input?)");
                }
            }
        }
    }

    /** {@code target = source − target}, in place on target (turns a copy of W into ΔW = Ŵ − W). */
    private static void subtractInto(FloatMatrix target, FloatMatrix source) {
        for (int r = 0; r < target.rows(); r++) {
            MemorySegment t = target.row(r);
            MemorySegment s = source.row(r);
            for (int c = 0; c < target.cols(); c++) {
                t.setAtIndex(JAVA_FLOAT, c, s.getAtIndex(JAVA_FLOAT, c) - t.getAtIndex(JAVA_FLOAT, c));
            }
        }
    }

    private static PruneResult result(PruneSpec spec, FloatMatrix weights, double relativeLoss, Prepared prepared,
            Map<String, Double> seconds, Kernels kernels) {
        int rows = weights.rows();
        int cols = weights.cols();
        long zeros = 0;
        long rowMin = Long.MAX_VALUE;
        long rowMax = 0;
        for (int r = 0; r < rows; r++) {
            long z = cols == 0 ? 0 : kernels.countZeros(weights.row(r), cols);
            zeros += z;
            rowMin = Math.min(rowMin, z);
            rowMax = Math.max(rowMax, z);
        }
        double size = (double) rows * cols;
        return new PruneResult(spec.describe(), rows, cols, zeros, size == 0 ? 0 : zeros / size,
                cols == 0 || rows == 0 ? 0 : rowMin / (double) cols, cols == 0 ? 0 : rowMax / (double) cols,
                relativeLoss, prepared == null ? 0 : prepared.deadInputs(),
                prepared == null ? 0 : prepared.percDamp(), prepared == null ? 0 : prepared.retries(), seconds);
    }
}
