package dev.thanosj.bench;

import dev.thanosj.prune.LayerStatistics;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneMemory;
import dev.thanosj.prune.PruneResult;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.prune.Pruner;
import dev.thanosj.prune.PruneWorkspace;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One layer pruned by {@link Pruner#prune}, end to end (preparation, factor, mask, solves, updates, loss),
 * for every method and pattern on the layer shapes of real models. {@code prune} is {@code method/pattern}:
 * {@code 0.5} unstructured, {@code 2:4}, {@code 0.3s} structured 30% (Thanos and Wanda only, with the
 * default α = 0.1). Weights are seeded Gaussians with per-row scales; the statistics come from
 * {@value #DEFAULT_TOKENS} seeded calibration tokens in which {@value #OUTLIERS} input columns have a 10–100x
 * scale (outlier features), accumulated once per trial through {@link LayerStatistics#addBatch}. Magnitude
 * and Wanda get statistics without H (they do not need it; with H the report's loss would cost two
 * {@code rows x cols x cols} GEMMs). Single-shot: each iteration restores the weights, then prunes once.
 * After each iteration the phases and the off-heap peak ({@link PruneMemory}) are printed.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {
        "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow",
        "-Xmx4g"})
public class PruneBench {
    static final int DEFAULT_TOKENS = 8192;
    static final int OUTLIERS = 8;

    @Param({"768x768", "2048x2048", "4096x4096", "4096x11008", "11008x4096"})
    public String shape;

    @Param({"thanos/0.5", "thanos/2:4", "thanos/0.3s", "sparsegpt/0.5", "sparsegpt/2:4", "wanda/0.5", "wanda/2:4",
            "wanda/0.3s", "magnitude/0.5", "magnitude/2:4"})
    public String prune;

    /** Calibration tokens (the check test uses fewer). */
    public int tokens = DEFAULT_TOKENS;

    PruneSpec spec;
    LayerStatistics stats;
    FloatMatrix original;
    FloatMatrix weights;
    PruneResult last;
    private Arena arena;
    /** Kept for the trial, as the model pipeline keeps one per block: iterations reuse the pages. */
    private PruneWorkspace workspace;

    @Setup(Level.Trial)
    public void setUp() {
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]);
        int cols = Integer.parseInt(rc[1]);
        spec = spec(prune);
        arena = Arena.ofShared();
        workspace = new PruneWorkspace();
        SplittableRandom random = new SplittableRandom(20261204);
        original = FloatMatrix.allocate(arena, rows, cols);
        for (int r = 0; r < rows; r++) {
            float scale = (float) (0.5 + random.nextDouble());
            for (int c = 0; c < cols; c++) {
                original.set(r, c, (float) (random.nextGaussian() * 0.02 * scale));
            }
        }
        weights = original.copy(arena);
        float[] columnScale = new float[cols];
        java.util.Arrays.fill(columnScale, 1f);
        for (int i = 0; i < Math.min(OUTLIERS, cols); i++) {
            columnScale[random.nextInt(cols)] = (float) (10 + 90 * random.nextDouble());
        }
        stats = LayerStatistics.create(cols, spec.needsHessian());
        int chunk = 1024;
        try (Arena scratch = Arena.ofConfined()) {
            FloatMatrix x = FloatMatrix.allocate(scratch, Math.min(chunk, tokens), cols);
            for (int t0 = 0; t0 < tokens; t0 += chunk) {
                int n = Math.min(chunk, tokens - t0);
                FloatMatrix xs = x.rows(0, n);
                for (int t = 0; t < n; t++) {
                    java.lang.foreign.MemorySegment row = xs.row(t);
                    for (int c = 0; c < cols; c++) {
                        row.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, c,
                                (float) (random.nextGaussian() * columnScale[c]));
                    }
                }
                stats.addBatch(xs, 1);
            }
        }
    }

    /** Parses {@code method/pattern}. */
    static PruneSpec spec(String text) {
        String[] parts = text.split("/");
        Method method = Method.parse(parts[0]);
        String p = parts[1];
        Pattern pattern = p.endsWith("s") ? new Pattern.Structured(Double.parseDouble(p.substring(0, p.length() - 1)))
                : p.contains(":") ? new Pattern.NOfM(Integer.parseInt(p.split(":")[0]), Integer.parseInt(p.split(":")[1]))
                : new Pattern.Unstructured(Double.parseDouble(p));
        return PruneSpec.of(method, pattern);
    }

    /** Restores the unpruned weights before the (single) invocation of the iteration. */
    @Setup(Level.Iteration)
    public void restore() {
        weights.copyFrom(original);
        PruneMemory.resetPeak();
    }

    /** Prunes the layer in place; the result carries the loss and the time per phase. */
    @Benchmark
    public PruneResult pruneLayer() {
        last = Pruner.prune("bench", weights, stats, spec, workspace);
        return last;
    }

    /** Prints the phases and the memory of the run: W + H given, the pruner's off-heap peak on top. */
    @TearDown(Level.Iteration)
    public void report() {
        if (last == null) {
            return;
        }
        long w = original.size() * Float.BYTES;
        long h = stats.hasHessian() ? (long) stats.cols() * stats.cols() * Float.BYTES : 0;
        long peak = w + h + PruneMemory.peakBytes();
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "%n  [%s %s] loss %.5f sparsity %.4f | memory peak %.1f MB = %.3f x (W+H) (W %.1f MB, H %.1f MB) |",
                shape, prune, last.relativeLoss(), last.sparsity(), peak / 1e6, peak / (double) (w + h), w / 1e6,
                h / 1e6));
        last.seconds().forEach((k, v) -> b.append(String.format(Locale.ROOT, " %s %.3f", k, v)));
        System.out.println(b);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        workspace.close();
        stats.close();
        arena.close();
    }
}
