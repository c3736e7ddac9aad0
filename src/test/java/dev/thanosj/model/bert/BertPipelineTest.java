package dev.thanosj.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.model.OrtReference;
import dev.thanosj.model.TinyBert;
import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.onnx.OnnxTensor;
import dev.thanosj.model.pipeline.CalibrationPass;
import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.model.pipeline.SequentialModel;
import dev.thanosj.model.pipeline.SequentialPruner;
import dev.thanosj.model.text.CalibrationText;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import dev.thanosj.prune.LayerStatistics;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.prune.Pruner;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sequential pipeline ({@link SequentialPruner} over {@link BertPruning}) on a small random BERT built by
 * the test ({@link TinyBert}): every method and pattern leaves each Linear of the written file with the
 * requested zeros, ONNX Runtime runs the written file and agrees with the Java forward pass, and block 1 is
 * calibrated on the outputs of the already pruned block 0. Runs with one worker thread (restored
 * afterwards): on a 32-wide model the hand-offs between threads cost more than the arithmetic, and many times
 * more when other builds share the two cores; the multi-threaded paths run in {@code BertEncoderTest} and
 * the CLI tests.
 */
class BertPipelineTest {
    @TempDir
    static Path tmp;

    private static Path dense;
    private static TokenBatch calibration;
    private static TokenBatch heldOut;
    private static Arena arena;
    private static int savedWorkers;
    private static int savedLinalgThreads;

    @BeforeAll
    static void setUp() {
        savedWorkers = Workers.threads();
        savedLinalgThreads = Linalg.get().threads();
        Workers.setThreads(1);
        Linalg.get().setThreads(1);
        dense = TinyBert.write(tmp.resolve("tiny.onnx"), TinyBert.Config.small(7));
        try (Tokenizer tokenizer = TinyBert.tokenizer(64)) {
            calibration = tokenizer.encode(CalibrationText.defaultCalibration().subList(0, 16));
            heldOut = tokenizer.encode(CalibrationText.defaultEvaluation().subList(0, 8));
        }
        arena = Arena.ofShared();
    }

    @AfterAll
    static void tearDown() {
        arena.close();
        Workers.setThreads(savedWorkers);
        Linalg.get().setThreads(savedLinalgThreads);
    }

    static Stream<Named<PruneSpec>> specs() {
        return Stream.of(
                PruneSpec.of(Method.THANOS, new Pattern.NOfM(2, 4)),
                PruneSpec.of(Method.SPARSEGPT, new Pattern.Unstructured(0.5)),
                PruneSpec.of(Method.WANDA, new Pattern.NOfM(4, 8)),
                PruneSpec.of(Method.MAGNITUDE, new Pattern.Unstructured(0.5)),
                PruneSpec.of(Method.THANOS, new Pattern.Structured(0.3))).map(s -> Named.of(s.describe(), s));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void theWrittenFileHasThePatternAndOnnxRuntimeAgreesWithTheJavaForward(PruneSpec spec) throws Exception {
        Path output = tmp.resolve(spec.method().id() + "-" + spec.pattern().toString().replace(' ', '-') + ".onnx");
        try (OnnxModel model = OnnxModel.open(dense);
             BertEncoder encoder = BertEncoder.of(model);
             BertPruning pruning = new BertPruning(encoder)) {
            List<Integer> blocksDone = new ArrayList<>();
            SequentialPruner.Report report;
            try (CalibrationPass pass = pruning.calibration(calibration)) {
                report = SequentialPruner.prune(pruning, pass, spec, (block, blocks, layers) -> {
                    assertEquals(2, blocks);
                    assertEquals(6, layers.size());
                    blocksDone.add(block);
                });
            }
            assertEquals(List.of(0, 1), blocksDone);
            assertEquals(12, report.layers().size());
            pruning.save(output);
            assertEquals(Files.size(dense), Files.size(output));

            try (OnnxModel written = OnnxModel.open(output)) {
                assertEquals(model.nodes(), written.nodes());
                List<OnnxLinear> linears = encoder.linears();
                Set<String> weightNames = new HashSet<>();
                for (int i = 0; i < linears.size(); i++) {
                    OnnxLinear linear = linears.get(i);
                    weightNames.add(linear.weight().name());
                    SequentialPruner.LayerReport layer = report.layers().get(i);
                    assertEquals(linear.label(), layer.name());
                    FloatMatrix before = outIn(model.readMatrix(linear.weight(), arena));
                    FloatMatrix after = outIn(written.readMatrix(linear.weight(), arena));
                    assertEquals(layer.result().zeros(), zeros(after), linear.label() + ": zeros in the file vs the report");
                    assertSameValues(pruning.weights().apply(linear), written.readMatrix(linear.weight(), arena), linear.label());
                    checkPattern(spec, before, after, linear.label());
                }
                for (OnnxTensor t : model.initializers()) {
                    if (!weightNames.contains(t.name())) {
                        assertEquals(-1, model.data(t).mismatch(written.data(t)), t.name() + " must be copied unchanged");
                    }
                }

                try (OrtReference ort = new OrtReference(output); BertEncoder fromFile = BertEncoder.of(written)) {
                    double replaced = BertEncoderTest.maxDifference(encoder, heldOut, pruning.weights(), ort);
                    double file = BertEncoderTest.maxDifference(fromFile, heldOut, BertEncoder.DENSE, ort);
                    double fidelity = BertEvaluation.javaFidelity(encoder, pruning.weights(), BertEncoder.DENSE, heldOut);
                    double ortFidelity = BertEvaluation.ortFidelity(output, dense, heldOut, 2);
                    System.out.printf("tiny BERT %-30s sparsity %.4f, fidelity java %.4f onnxruntime %.4f,"
                            + " max |java - onnxruntime| %.3g (replaced weights) %.3g (file)%n", spec.describe(),
                            report.sparsity(), fidelity, ortFidelity, replaced, file);
                    assertTrue(replaced <= 1e-4, "java forward with the pruned weights vs onnxruntime: " + replaced);
                    assertTrue(file <= 1e-4, "java forward on the written file vs onnxruntime: " + file);
                    assertEquals(fidelity, ortFidelity, BertEvaluation.AGREEMENT);
                    assertTrue(fidelity > 0 && fidelity < 1 - 1e-6, "pruning must change the model a little: " + fidelity);
                }
            }
        }
    }

    /**
     * Block 1 is calibrated on the outputs of the pruned block 0: its inputs in a full run equal those of a
     * run that pruned block 0 only, differ from the dense model's, and pruning block 1 from them alone
     * reproduces the full run's block 1.
     */
    @Test
    void block1IsCalibratedOnThePrunedBlock0() {
        PruneSpec spec = PruneSpec.of(Method.THANOS, new Pattern.NOfM(2, 4));
        assertTrue(calibration.totalTokens() <= BertEncoder.CHUNK_TOKENS, "one tap call per Linear");
        try (OnnxModel model = OnnxModel.open(dense);
             BertEncoder encoder = BertEncoder.of(model);
             BertPruning full = new BertPruning(encoder);
             BertPruning firstOnly = new BertPruning(encoder);
             BertPruning fromDense = new BertPruning(encoder)) {
            FloatMatrix[] seenInFullRun = new FloatMatrix[1];
            try (CalibrationPass pass = new Recording(full.calibration(calibration), 1, "layer.1.query", seenInFullRun)) {
                SequentialPruner.prune(full, pass, spec, (b, n, l) -> { });
            }

            FloatMatrix afterPrunedBlock0;
            try (CalibrationPass pass = firstOnly.calibration(calibration)) {
                SequentialPruner.prune(new FirstBlocks(firstOnly, 1), pass, spec, (b, n, l) -> { });
                afterPrunedBlock0 = captureQueryInputs(pass, 1);
            }
            FloatMatrix afterDenseBlock0;
            try (CalibrationPass pass = fromDense.calibration(calibration)) {
                pass.advance(0);
                afterDenseBlock0 = captureQueryInputs(pass, 1);
            }
            assertSameValues(afterPrunedBlock0, seenInFullRun[0], "block 1's inputs: full run vs block 0 pruned alone");
            double change = maxDifference(afterDenseBlock0, seenInFullRun[0]);
            assertTrue(change > 1e-2, "block 1's inputs should differ from the dense model's, by " + change);

            for (int i = 0; i < 6; i++) {
                LinearRef block0 = full.linears(0).get(i);
                assertSameValues(firstOnly.weight(block0, arena), full.weight(block0, arena), block0.name());
            }
            for (String source : List.of("pruned", "dense")) {
                List<FloatMatrix> alone = pruneBlock1Alone(source.equals("pruned") ? firstOnly : fromDense, spec);
                double worst = 0;
                for (int i = 0; i < 6; i++) {
                    worst = Math.max(worst, maxDifference(alone.get(i), full.weight(full.linears(1).get(i), arena)));
                }
                System.out.printf("block 1 pruned from the %s block 0's outputs vs the full run: max difference %.3g%n",
                        source, worst);
                if (source.equals("pruned")) {
                    assertTrue(worst <= 1e-5, "block 1 calibrated on the pruned block 0 differs from the full run by " + worst);
                } else {
                    assertTrue(worst > 1e-3, "calibrating block 1 on the dense block 0 should give other weights: " + worst);
                }
            }
        }
    }

    /** Block 1 of {@code model}, pruned from the inputs its calibration pass shows after block 0, alone. */
    private static List<FloatMatrix> pruneBlock1Alone(BertPruning model, PruneSpec spec) {
        List<FloatMatrix> out = new ArrayList<>();
        try (CalibrationPass pass = model.calibration(calibration)) {
            pass.advance(0);
            List<LinearRef> linears = model.linears(1);
            List<LayerStatistics> stats = new ArrayList<>();
            for (LinearRef linear : linears) {
                stats.add(LayerStatistics.create(linear.cols(), true));
            }
            try {
                pass.capture(1, (linear, inputs, sequences) -> stats.get(linears.indexOf(linear)).addBatch(inputs, sequences));
                for (int i = 0; i < linears.size(); i++) {
                    FloatMatrix w = model.weight(linears.get(i), arena);
                    Pruner.prune(linears.get(i).name(), w, stats.get(i), spec);
                    out.add(w);
                }
            } finally {
                stats.forEach(LayerStatistics::close);
            }
        }
        return out;
    }

    private static FloatMatrix captureQueryInputs(CalibrationPass pass, int block) {
        FloatMatrix[] seen = new FloatMatrix[1];
        new Recording(pass, block, "layer." + block + ".query", seen).capture(block, (l, x, s) -> { });
        return seen[0];
    }

    // ---- patterns, in pruning layout [out, in] ----

    private static void checkPattern(PruneSpec spec, FloatMatrix before, FloatMatrix after, String label) {
        int rows = after.rows();
        int cols = after.cols();
        switch (spec.pattern()) {
            case Pattern.NOfM nm -> {
                for (int r = 0; r < rows; r++) {
                    for (int g = 0; g < cols; g += nm.m()) {
                        int z = 0;
                        for (int c = g; c < g + nm.m(); c++) {
                            z += after.get(r, c) == 0f ? 1 : 0;
                        }
                        assertEquals(nm.n(), z, label + " row " + r + " group at column " + g);
                    }
                }
            }
            case Pattern.Unstructured u -> {
                long target = (long) Math.floor(u.sparsity() * rows * cols + 1e-9);
                long z = zeros(after);
                if (spec.method() == Method.MAGNITUDE) {
                    assertEquals(target, z, label);
                    float largestPruned = 0;
                    float smallestKept = Float.POSITIVE_INFINITY;
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            float magnitude = Math.abs(before.get(r, c));
                            if (after.get(r, c) == 0f) {
                                largestPruned = Math.max(largestPruned, magnitude);
                            } else {
                                smallestKept = Math.min(smallestKept, magnitude);
                            }
                        }
                    }
                    assertTrue(largestPruned <= smallestKept, label + ": magnitude pruned " + largestPruned + " but kept " + smallestKept);
                } else {
                    long blocks = (cols + spec.blockSize() - 1) / spec.blockSize();
                    assertTrue(z >= target && z <= target + blocks, label + ": " + z + " zeros, target " + target);
                }
            }
            case Pattern.Structured st -> {
                int outliers = (int) Math.floor(spec.alpha() * rows + 1e-9);
                int columns = Math.min(cols, (int) Math.ceil(st.sparsity() * cols / (1 - spec.alpha()) - 1e-9));
                Set<Integer> zeroColumns = null;
                int dense = 0;
                for (int r = 0; r < rows; r++) {
                    Set<Integer> z = new HashSet<>();
                    for (int c = 0; c < cols; c++) {
                        if (after.get(r, c) == 0f) {
                            z.add(c);
                        }
                    }
                    if (z.isEmpty()) {
                        dense++;
                        for (int c = 0; c < cols; c++) {
                            assertEquals(before.get(r, c), after.get(r, c), label + ": outlier row " + r + " must be unchanged");
                        }
                    } else if (zeroColumns == null) {
                        zeroColumns = z;
                    } else {
                        assertEquals(zeroColumns, z, label + ": row " + r + " prunes other columns");
                    }
                }
                assertEquals(outliers, dense, label + ": dense (outlier) rows");
                assertEquals(columns, zeroColumns.size(), label + ": pruned columns");
            }
        }
        if (spec.method() == Method.WANDA || spec.method() == Method.MAGNITUDE) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    if (after.get(r, c) != 0f) {
                        assertEquals(before.get(r, c), after.get(r, c), label + ": " + spec.method().id() + " does not update kept weights");
                    }
                }
            }
        } else {
            assertTrue(maxDifferenceOnKept(before, after) > 0, label + ": " + spec.method().id() + " updates the kept weights");
        }
    }

    /** The file's {@code [in, out]} weight transposed to pruning layout {@code [out, in]}. */
    private static FloatMatrix outIn(FloatMatrix inOut) {
        FloatMatrix t = FloatMatrix.allocate(arena, inOut.cols(), inOut.rows());
        inOut.transposeInto(t);
        return t;
    }

    private static long zeros(FloatMatrix m) {
        long z = 0;
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                z += m.get(r, c) == 0f ? 1 : 0;
            }
        }
        return z;
    }

    private static double maxDifference(FloatMatrix a, FloatMatrix b) {
        a.requireSameShape(b, "maxDifference");
        double worst = 0;
        for (int r = 0; r < a.rows(); r++) {
            for (int c = 0; c < a.cols(); c++) {
                worst = Math.max(worst, Math.abs(a.get(r, c) - b.get(r, c)));
            }
        }
        return worst;
    }

    private static double maxDifferenceOnKept(FloatMatrix before, FloatMatrix after) {
        double worst = 0;
        for (int r = 0; r < before.rows(); r++) {
            for (int c = 0; c < before.cols(); c++) {
                if (after.get(r, c) != 0f) {
                    worst = Math.max(worst, Math.abs(before.get(r, c) - after.get(r, c)));
                }
            }
        }
        return worst;
    }

    private static void assertSameValues(FloatMatrix expected, FloatMatrix actual, String label) {
        expected.requireSameShape(actual, label);
        for (int r = 0; r < expected.rows(); r++) {
            for (int c = 0; c < expected.cols(); c++) {
                assertEquals(expected.get(r, c), actual.get(r, c), label + " at " + r + "," + c);
            }
        }
    }

    /** A pass that keeps a copy of one Linear's inputs of one block when they are captured. */
    private record Recording(CalibrationPass pass, int block, String linear, FloatMatrix[] seen) implements CalibrationPass {
        @Override
        public void capture(int b, Tap tap) {
            pass.capture(b, (ref, inputs, sequences) -> {
                if (b == block && ref.name().equals(linear)) {
                    assertEquals(null, seen[0], "one tap call per Linear");
                    seen[0] = inputs.copy(arena);
                }
                tap.accept(ref, inputs, sequences);
            });
        }

        @Override
        public void advance(int b) {
            pass.advance(b);
        }

        @Override
        public void close() {
            pass.close();
        }
    }

    /** The first {@code blocks} blocks of a model. */
    private record FirstBlocks(SequentialModel model, int blocks) implements SequentialModel {
        @Override
        public List<LinearRef> linears(int block) {
            return model.linears(block);
        }

        @Override
        public FloatMatrix weight(LinearRef linear, Arena target) {
            return model.weight(linear, target);
        }

        @Override
        public void replaceWeight(LinearRef linear, FloatMatrix weight) {
            model.replaceWeight(linear, weight);
        }
    }
}
