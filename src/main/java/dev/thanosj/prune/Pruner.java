package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.prune.HessianPreparation.Prepared;
import dev.thanosj.prune.HessianPreparation.Product;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Entry point: prunes one layer's weights in place with the method of a {@link PruneSpec} and reports
 * what it achieved. Memory: besides the weights and the statistics, one copy of the weights (for the
 * loss) and one {@code cols x cols} factor, owned by an arena closed before returning.
 */
public final class Pruner {
    private Pruner() {
    }

    /**
     * Prunes {@code weights} ({@code rows x cols}, modified in place) as {@code spec} says, using the
     * calibration statistics {@code stats} (only read); {@code layer} names the layer in error messages.
     *
     * @throws ThanosjException when the shapes do not fit, the weights are not finite, or {@code H} stays
     *                          singular after the damping retries
     */
    public static PruneResult prune(String layer, FloatMatrix weights, LayerStatistics stats, PruneSpec spec) {
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
        requireFinite(layer, "weight", weights);
        requireFinite(layer, "calibration statistic s", stats.scaler());
        Linalg linalg = Linalg.get();
        Map<String, Double> seconds = new LinkedHashMap<>();
        Prepared prepared = null;
        double lossDenominator = Double.NaN;
        double relativeLoss = Double.NaN;
        try (Arena arena = Arena.ofShared()) {
            long t0 = System.nanoTime();
            FloatMatrix original = null;
            if (stats.hasHessian()) {
                original = weights.copy(arena); // deliberate: the loss needs W next to Ŵ
                lossDenominator = LayerMath.quadraticTrace(original, stats.hessian(), linalg);
            }
            if (spec.needsHessian()) {
                Product product = spec.pattern() instanceof Pattern.Structured
                        ? Product.INVERSE : Product.INVERSE_UPPER_FACTOR;
                prepared = HessianPreparation.prepare(layer, weights, stats.hessian(), spec.percDamp(), product,
                        arena, linalg);
            }
            long t1 = System.nanoTime();
            seconds.put("prepare", (t1 - t0) / 1e9);
            switch (spec.method()) {
                case MAGNITUDE -> Magnitude.prune(weights, spec.pattern(), linalg);
                case WANDA -> Wanda.prune(weights, stats, spec, linalg);
                case SPARSEGPT -> SparseGpt.prune(weights, prepared.matrix(), spec, linalg, arena);
                case THANOS -> {
                    if (spec.pattern() instanceof Pattern.Structured) {
                        Thanos.pruneStructured(weights, stats, prepared.matrix(), spec, linalg, arena);
                    } else {
                        Thanos.pruneBlocks(weights, stats, prepared.matrix(), spec, linalg, arena);
                    }
                }
            }
            long t2 = System.nanoTime();
            seconds.put("prune", (t2 - t1) / 1e9);
            if (original != null) {
                subtractInto(original, weights);
                double numerator = LayerMath.quadraticTrace(original, stats.hessian(), linalg);
                relativeLoss = lossDenominator > 0 ? numerator / lossDenominator
                        : (numerator == 0 ? 0 : Double.POSITIVE_INFINITY);
                seconds.put("loss", (System.nanoTime() - t2) / 1e9);
            }
        }
        return result(spec, weights, relativeLoss, prepared, seconds);
    }

    private static void requireFinite(String layer, String what, FloatMatrix values) {
        for (int r = 0; r < values.rows(); r++) {
            MemorySegment row = values.row(r);
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
            Map<String, Double> seconds) {
        int rows = weights.rows();
        int cols = weights.cols();
        long zeros = 0;
        long rowMin = Long.MAX_VALUE;
        long rowMax = 0;
        for (int r = 0; r < rows; r++) {
            MemorySegment row = weights.row(r);
            long z = 0;
            for (int c = 0; c < cols; c++) {
                if (row.getAtIndex(JAVA_FLOAT, c) == 0f) {
                    z++;
                }
            }
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
