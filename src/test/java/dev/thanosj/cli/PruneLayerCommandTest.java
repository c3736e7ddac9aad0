package dev.thanosj.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thanosj.model.safetensors.SafetensorsFile;
import dev.thanosj.model.safetensors.SafetensorsWriter;
import dev.thanosj.model.safetensors.SafetensorsWriter.FromMatrix;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code thanosj prune-layer} end to end, in-process: results, report, and every user error path. */
class PruneLayerCommandTest {
    private static final Path FIXTURE = Path.of("src/test/resources/fixtures/pruning/thanos-2of4.safetensors");

    @TempDir
    Path dir;

    private Arena arena;


    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
    }


    private FloatMatrix fixture(String tensor) {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            return f.matrix(arena, tensor);
        }
    }

    @Test
    void prunesTheFixtureAsTheIndependentImplementationDid() throws IOException {
        Path out = dir.resolve("out.safetensors");
        Cli.Run run = Cli.run("prune-layer", "--input", FIXTURE.toString(), "--output", out.toString(), "--method", "thanos",
                "--sparsity", "2:4", "--block-size", "16");
        assertEquals(Main.OK, run.code(), run.err());
        assertTrue(run.out().contains("sparsity"), run.out());
        assertTrue(run.out().contains("prune"), "time per phase: " + run.out());
        FloatMatrix expected = fixture("expected");
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(List.of("weight"), f.names());
            FloatMatrix w = f.matrix(arena, "weight");
            float scale = maxAbs(fixture("weight"));
            for (int r = 0; r < w.rows(); r++) {
                for (int c = 0; c < w.cols(); c++) {
                    assertEquals(expected.get(r, c) == 0f, w.get(r, c) == 0f, "mask at " + r + "," + c);
                    assertEquals(expected.get(r, c), w.get(r, c), 1e-4 * scale, "weight at " + r + "," + c);
                }
            }
            JsonNode report = new ObjectMapper().readTree(f.metadata().get("report"));
            assertEquals(0.5, report.get("sparsity").asDouble(), 0);
            double fixtureLoss = Double.parseDouble(fixtureMetadata().get("relativeLoss"));
            assertEquals(fixtureLoss, report.get("relativeLoss").asDouble(), 0.01 * fixtureLoss);
            assertTrue(report.get("seconds").has("prepare"), report.toString());
        }
    }

    @Test
    void hessianAndScalerGiveTheSameMaskAsTheInputs() {
        FloatMatrix weight = fixture("weight");
        FloatMatrix x = fixture("inputs");
        int cols = x.cols();
        FloatMatrix h = FloatMatrix.allocate(arena, cols, cols);
        FloatMatrix s = FloatMatrix.allocate(arena, 1, cols);
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                double sum = 0;
                for (int t = 0; t < x.rows(); t++) {
                    sum += (double) x.get(t, i) * x.get(t, j);
                }
                h.set(i, j, (float) (2 * sum));
                if (i == j) {
                    s.set(0, i, (float) sum);
                }
            }
        }
        Path in = dir.resolve("h.safetensors");
        SafetensorsWriter.write(in, List.of(new FromMatrix("weight", weight, DType.F32), new FromMatrix("hessian", h, DType.F32),
                new FromMatrix("scaler", s, DType.F32, new long[] {cols})), Map.of());
        Path out = dir.resolve("out.safetensors");
        Cli.Run run = Cli.run("prune-layer", "--input", in.toString(), "--output", out.toString(), "--method", "thanos",
                "--sparsity", "2:4", "--block-size", "16");
        assertEquals(Main.OK, run.code(), run.err());
        FloatMatrix expected = fixture("expected");
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            FloatMatrix w = f.matrix(arena, "weight");
            for (int r = 0; r < w.rows(); r++) {
                for (int c = 0; c < w.cols(); c++) {
                    assertEquals(expected.get(r, c) == 0f, w.get(r, c) == 0f, "mask at " + r + "," + c);
                }
            }
        }
    }

    @Test
    void keepsTheInputDtype() {
        Path in = dir.resolve("bf16.safetensors");
        SafetensorsWriter.write(in, List.of(new FromMatrix("weight", fixture("weight"), DType.BF16),
                new FromMatrix("inputs", fixture("inputs"), DType.BF16)), Map.of());
        Path out = dir.resolve("out.safetensors");
        Cli.Run run = Cli.run("prune-layer", "--input", in.toString(), "--output", out.toString(), "--method", "wanda",
                "--sparsity", "0.5");
        assertEquals(Main.OK, run.code(), run.err());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals("BF16", f.info("weight").dtypeName());
        }
    }

    private Path write(String name, Map<String, FloatMatrix> tensors) {
        Path p = dir.resolve(name);
        SafetensorsWriter.write(p, tensors.entrySet().stream()
                .map(e -> new FromMatrix(e.getKey(), e.getValue(), DType.F32)).toList(), Map.of());
        return p;
    }



    @Test
    void errorPathsNameTheProblemAndWriteNothing() throws IOException {
        FloatMatrix w = fixture("weight");
        FloatMatrix x = fixture("inputs");
        String out = dir.resolve("out.safetensors").toString();
        Path noWeight = write("no-weight.safetensors", Map.of("inputs", x));
        Cli.assertUserError(dir, "no tensor 'weight'", "prune-layer", "--input", noWeight.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "0.5");
        Path noInputs = write("no-inputs.safetensors", Map.of("weight", w));
        Cli.assertUserError(dir, "'inputs'", "prune-layer", "--input", noInputs.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "0.5");
        Path rank1 = dir.resolve("rank1.safetensors");
        SafetensorsWriter.write(rank1, List.of(new FromMatrix("weight", w.rows(0, 1), DType.F32, new long[] {w.cols()}),
                new FromMatrix("inputs", x, DType.F32)), Map.of());
        Cli.assertUserError(dir, "rank 2", "prune-layer", "--input", rank1.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "0.5");
        Path mismatched = write("mismatched.safetensors", Map.of("weight", w, "inputs", x.columns(0, x.cols() - 4)));
        Cli.assertUserError(dir, "columns", "prune-layer", "--input", mismatched.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "0.5");
        Cli.assertUserError(dir, "--sparsity 2:x", "prune-layer", "--input", FIXTURE.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "2:x");
        Cli.assertUserError(dir, "1.5", "prune-layer", "--input", FIXTURE.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "1.5");
        Cli.assertUserError(dir, "--method", "prune-layer", "--input", FIXTURE.toString(), "--output", out,
                "--method", "obs", "--sparsity", "0.5");
        FloatMatrix nan = w.copy(arena);
        nan.set(3, 5, Float.NaN);
        Path withNan = write("nan.safetensors", Map.of("weight", nan, "inputs", x));
        Cli.assertUserError(dir, "weight [3, 5] is NaN", "prune-layer", "--input", withNan.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "0.5");
        Cli.assertUserError(dir, "is the input", "prune-layer", "--input", withNan.toString(), "--output", withNan.toString(),
                "--method", "thanos", "--sparsity", "0.5");
        Cli.assertUserError(dir, "missing.safetensors", "prune-layer", "--input", dir.resolve("missing.safetensors").toString(),
                "--output", out, "--method", "thanos", "--sparsity", "0.5");
        Path notSafetensors = dir.resolve("text.safetensors");
        Files.writeString(notSafetensors, "this is not a safetensors file");
        Cli.assertUserError(dir, "text.safetensors", "prune-layer", "--input", notSafetensors.toString(), "--output", out,
                "--method", "thanos", "--sparsity", "0.5");
    }

    private Map<String, String> fixtureMetadata() {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            return f.metadata();
        }
    }

    private static float maxAbs(FloatMatrix m) {
        float max = 0;
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                max = Math.max(max, Math.abs(m.get(r, c)));
            }
        }
        return max;
    }
}
