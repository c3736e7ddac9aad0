package dev.thanosj.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thanosj.model.OnnxProto;
import dev.thanosj.model.TinyBert;
import dev.thanosj.model.text.CalibrationText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prune}, {@code eval} and {@code compare} end to end on a small random BERT built by the test
 * ({@link TinyBert}) with its own tiny tokenizer, run in-process like {@link MainTest} (stdout and stderr of
 * the JVM are captured too), plus one run of {@code eval --json} in a child JVM, where stdout is the real
 * one. Bad input ends with exit code 2, one line naming the file or option, and no file created or changed.
 * {@code prune} and {@code eval} run with the default threads; {@code compare} (four prunings) with one, which
 * on a 32-wide model is faster than handing tiny tasks between threads.
 */
class BertCommandsTest {
    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @TempDir
    static Path root;

    private static Path inputs;
    private static Path model;
    private static Path tokenizer;
    private static Path calibration;
    private static Path evalText;
    private static Path pruned;
    private static Run prune;

    @TempDir
    Path work;

    /** What one run printed (the command's writers and the JVM's streams) and returned. */
    record Run(int code, String out, String err, String systemOut, String systemErr) {
    }

    @BeforeAll
    static void pruneTheTinyModel() throws IOException {
        inputs = Files.createDirectory(root.resolve("inputs"));
        model = TinyBert.write(inputs.resolve("tiny.onnx"), TinyBert.Config.small(7));
        tokenizer = TinyBert.writeTokenizer(inputs.resolve("tokenizer.json"));
        calibration = Files.write(inputs.resolve("calibration.txt"), CalibrationText.defaultCalibration().subList(0, 12));
        evalText = Files.write(inputs.resolve("held-out.txt"), CalibrationText.defaultEvaluation().subList(0, 6));
        Path out = Files.createDirectory(root.resolve("pruned"));
        pruned = out.resolve("OUT.onnx");
        prune = run("prune", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--calibration", calibration.toString(), "--samples", "8", "--eval-samples", "8",
                "--method", "thanos", "--sparsity", "2:4", "--output", pruned.toString());
    }

    // ---- prune, eval, compare ----

    @Test
    void pruneWritesTheModelAndItsReportAndPrintsTheTable() throws IOException {
        assertEquals(Main.OK, prune.code(), prune.err() + prune.systemErr());
        assertEquals("", prune.err());
        try (Stream<Path> files = Files.list(pruned.getParent())) {
            assertEquals(List.of("OUT.onnx", "OUT.report.json"), files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "the output and its report, no temporaries");
        }
        assertEquals(Files.size(model), Files.size(pruned));
        for (int l = 0; l < 2; l++) {
            for (String role : List.of("query", "key", "value", "attention.output", "intermediate", "output")) {
                assertTrue(prune.out().contains("layer." + l + "." + role + " "), "table row layer." + l + "." + role + ":\n" + prune.out());
            }
        }
        assertTrue(prune.out().contains("thanos 2:4 block=128: sparsity 0.5000 of the Linears"), prune.out());
        assertTrue(prune.out().contains("fidelity (mean cosine to dense, 8 held-out documents): java 0."), prune.out());
        assertTrue(prune.systemErr().contains("prune") && prune.systemErr().contains("2/2"),
                "progress lines (layer i/N) on stderr:\n" + prune.systemErr());
        assertEquals("", prune.systemOut(), "everything goes through the command's writer");

        JsonNode report = STRICT_JSON.readTree(pruned.resolveSibling("OUT.report.json").toFile());
        JsonNode fidelity = report.path("fidelity");
        assertTrue(fidelity.path("java").isNumber() && fidelity.path("onnxruntime").isNumber(), report.toString());
        double java = fidelity.path("java").asDouble();
        double ort = fidelity.path("onnxruntime").asDouble();
        assertEquals(java, ort, 1e-3, "Java and ONNX Runtime fidelity");
        assertTrue(java > 0.5 && java < 1, "fidelity " + java);
        assertEquals(8, fidelity.path("documents").asInt());
        assertEquals("thanos 2:4 block=128", report.path("spec").asText());
        assertEquals(0.5, report.path("sparsity").asDouble(), 1e-12);
        assertEquals(8, report.path("calibration").path("samples").asInt());
        assertEquals(12, report.path("layers").size());
        assertEquals("layer.1.output", report.path("layers").get(11).path("name").asText());
        assertEquals(model.toString(), report.path("model").asText());
        assertEquals(pruned.toString(), report.path("output").asText());
    }

    @Test
    void evalJsonPrintsExactlyOneJsonObject() throws IOException {
        Run eval = run("eval", "--model", pruned.toString(), "--reference", model.toString(), "--tokenizer",
                tokenizer.toString(), "--text", evalText.toString(), "--json");
        assertEquals(Main.OK, eval.code(), eval.err());
        assertEquals("", eval.systemOut(), "nothing but the JSON on stdout");
        assertEquals(1, eval.out().lines().count(), eval.out());
        checkEvalJson(STRICT_JSON.readTree(eval.out()), 6);
    }

    @Test
    void evalPrintsTheLossesSparsityAndFidelity() {
        Run eval = run("eval", "--model", pruned.toString(), "--reference", model.toString(), "--tokenizer",
                tokenizer.toString(), "--text", evalText.toString());
        assertEquals(Main.OK, eval.code(), eval.err());
        assertTrue(eval.out().contains("layer.1.intermediate"), eval.out());
        assertTrue(eval.out().contains("sparsity of the Linears 0.5000"), eval.out());
        assertTrue(eval.out().contains("fidelity (mean cosine to tiny.onnx, 6 documents): java 0."), eval.out());
    }

    /** The jar's entry point in a child JVM: its real stdout holds the one JSON object and nothing else. */
    @Test
    void evalJsonInAChildJvm() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = List.of(java, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--threads", "1",
                "eval", "--model", pruned.toString(), "--reference", model.toString(), "--tokenizer", tokenizer.toString(),
                "--text", evalText.toString(), "--json");
        Path stderr = work.resolve("stderr.txt");
        Process process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        String stdout;
        try (var in = process.getInputStream()) {
            stdout = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(Main.OK, process.exitValue(), Files.readString(stderr));
        assertEquals(1, stdout.lines().count(), stdout);
        checkEvalJson(STRICT_JSON.readTree(stdout), 6);
    }

    private static void checkEvalJson(JsonNode o, int documents) {
        assertTrue(o.isObject(), o.toString());
        assertTrue(o.path("fidelity").isNumber() && o.path("fidelityOnnxRuntime").isNumber(), o.toString());
        assertEquals(o.path("fidelity").asDouble(), o.path("fidelityOnnxRuntime").asDouble(), 1e-3);
        assertTrue(o.path("fidelity").asDouble() > 0.5 && o.path("fidelity").asDouble() < 1, o.toString());
        assertTrue(o.path("sparsity").isNumber(), o.toString());
        assertEquals(0.5, o.path("sparsity").asDouble(), 1e-12);
        assertEquals(documents, o.path("documents").asInt());
        JsonNode losses = o.path("layerLosses");
        assertEquals(12, losses.size(), o.toString());
        losses.properties().forEach(e -> {
            assertTrue(e.getKey().matches("layer\\.[01]\\.(query|key|value|attention\\.output|intermediate|output)"), e.getKey());
            assertTrue(e.getValue().isNumber() && e.getValue().asDouble() > 0 && e.getValue().asDouble() < 1,
                    e.getKey() + " = " + e.getValue());
        });
    }

    @Test
    void compareRunsEveryMethodOnEveryPatternIntoOneTable() throws IOException {
        Map<String, String> before = snapshot(root);
        Run compare = run("--threads", "1", "compare", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--calibration", calibration.toString(), "--eval-text", evalText.toString(), "--samples", "8",
                "--eval-samples", "8", "--methods", "thanos,wanda", "--patterns", "2:4,s0.3");
        assertEquals(Main.OK, compare.code(), compare.err());
        List<String> lines = compare.out().lines().toList();
        assertEquals(6, lines.size(), compare.out());
        assertTrue(lines.get(0).startsWith("fidelity = mean cosine to the dense model on 6 held-out documents; calibration: 8"), lines.get(0));
        assertEquals(List.of("method", "pattern", "fidelity", "sparsity", "seconds"), Arrays.asList(lines.get(1).trim().split("\\s+")));
        List<String> rows = new ArrayList<>();
        for (String line : lines.subList(2, 6)) {
            String[] cells = line.trim().split("\\s+");
            double fidelity = Double.parseDouble(cells[cells.length - 3]);
            double sparsity = Double.parseDouble(cells[cells.length - 2]);
            assertTrue(fidelity > 0.5 && fidelity < 1, line);
            assertTrue(line.contains("2:4") ? sparsity == 0.5 : sparsity > 0.25 && sparsity < 0.35, line);
            rows.add(cells[0] + " " + cells[1]);
        }
        assertEquals(List.of("thanos 2:4", "wanda 2:4", "thanos 0.3", "wanda 0.3"), rows);
        assertEquals(before, snapshot(root), "compare writes nothing");
    }

    // ---- bad input: exit 2, one line, nothing written ----

    @Test
    void notAnOnnxFileAsModel() throws IOException {
        Path text = Files.writeString(work.resolve("notes.onnx"), "This is a text file, not a model.\n");
        assertRejected(pruneArgs(text, work.resolve("out.onnx")), text + " is not an ONNX model");
        Path empty = Files.write(work.resolve("empty.onnx"), new byte[0]);
        assertRejected(pruneArgs(empty, work.resolve("out.onnx")), empty + " is not an ONNX model");
        byte[] noise = new byte[4096];
        new SplittableRandom(1).nextBytes(noise);
        Path random = Files.write(work.resolve("random.onnx"), noise);
        assertRejected(pruneArgs(random, work.resolve("out.onnx")), random + " is not an ONNX model");
        byte[] bytes = Files.readAllBytes(model);
        Path truncated = Files.write(work.resolve("truncated.onnx"), Arrays.copyOf(bytes, bytes.length / 2));
        assertRejected(pruneArgs(truncated, work.resolve("out.onnx")), truncated + " is not an ONNX model");
        assertRejected(List.of("eval", "--model", pruned.toString(), "--reference", text.toString(), "--tokenizer",
                tokenizer.toString(), "--text", evalText.toString(), "--json"), text + " is not an ONNX model");
    }

    @Test
    void anOnnxModelWithoutTheLinears() throws Exception {
        byte[] graph = OnnxProto.graph("add", List.of(OnnxProto.node("/Add", "Add", List.of("x", "y"), List.of("z"))), List.of(),
                List.of(OnnxProto.valueInfo("x", OnnxProto.FLOAT, 4), OnnxProto.valueInfo("y", OnnxProto.FLOAT, 4)),
                List.of(OnnxProto.valueInfo("z", OnnxProto.FLOAT, 4)));
        Path add = Files.write(work.resolve("add.onnx"), OnnxProto.model(8, 17, graph));
        try (OrtSession session = OrtEnvironment.getEnvironment().createSession(add.toString())) {
            assertEquals(2, session.getNumInputs(), "ONNX Runtime loads it: it is a valid model");
        }
        assertRejected(pruneArgs(add, work.resolve("out.onnx")), "add.onnx is not a BERT encoder");
        assertRejected(List.of("compare", "--model", add.toString(), "--tokenizer", tokenizer.toString(), "--calibration",
                calibration.toString(), "--eval-text", evalText.toString()), "add.onnx is not a BERT encoder");
    }

    @Test
    void anEmptyCalibrationFile() throws IOException {
        Path empty = Files.writeString(work.resolve("empty.txt"), "\n   \n\t\n");
        List<String> args = new ArrayList<>(pruneArgs(model, work.resolve("out.onnx")));
        args.set(args.indexOf(calibration.toString()), empty.toString());
        assertRejected(args, "text file " + empty + " is empty");
    }

    @Test
    void theOutputIsTheModel() {
        assertRejected(pruneArgs(model, model), "--output " + model + " is the input");
        Path sameFile = inputs.resolve("..").resolve("inputs").resolve("tiny.onnx");
        assertRejected(pruneArgs(model, sameFile), "--output " + sameFile + " is the input");
    }

    @Test
    void theOutputOrItsReportIsAnotherInput() throws IOException {
        assertRejected(pruneArgs(model, calibration), "--output " + calibration + " is the input");
        assertRejected(pruneArgs(model, tokenizer), "--output " + tokenizer + " is the input");
        Path text = Files.write(work.resolve("held-out.report.json"), CalibrationText.defaultEvaluation().subList(0, 2));
        List<String> args = new ArrayList<>(pruneArgs(model, work.resolve("held-out.onnx")));
        args.set(args.indexOf(evalText.toString()), text.toString());
        assertRejected(args, "held-out.report.json is the input");
    }

    /** A checkpoint folder is pruned into a folder that replaces {@code --output} whole: never one holding the model. */
    @Test
    void aFolderOutputHoldingTheModel() throws IOException {
        Path checkpoint = Files.createDirectories(work.resolve("checkpoints").resolve("llama"));
        List<String> args = List.of("prune", "--model", checkpoint.toString(), "--method", "thanos", "--sparsity", "2:4",
                "--output", checkpoint.getParent().toString());
        assertRejected(args, "--output " + checkpoint.getParent() + " holds the input " + checkpoint);
        assertTrue(Files.isDirectory(checkpoint));
    }

    @Test
    void theOutputIsAFolderOrInAMissingFolder() throws IOException {
        Path folder = Files.createDirectory(work.resolve("folder"));
        assertRejected(pruneArgs(model, folder), "--output " + folder + " is a folder");
        Path missing = work.resolve("no-such-folder").resolve("out.onnx");
        assertRejected(pruneArgs(model, missing), "--output " + missing, "no-such-folder");
    }

    @Test
    void aMissingModelFile() {
        Path missing = work.resolve("missing.onnx");
        assertRejected(pruneArgs(missing, work.resolve("out.onnx")), "--model " + missing);
        assertRejected(List.of("eval", "--model", missing.toString(), "--reference", model.toString(), "--tokenizer",
                tokenizer.toString(), "--text", evalText.toString()), "--model " + missing);
    }

    @Test
    void badSparsity() {
        for (String sparsity : List.of("1.5", "-0.1", "half", "3:2", "0:4", "2:x")) {
            List<String> args = new ArrayList<>(pruneArgs(model, work.resolve("out.onnx")));
            args.set(args.indexOf("2:4"), sparsity);
            assertRejected(args, "--sparsity " + sparsity);
        }
        List<String> structured = new ArrayList<>(pruneArgs(model, work.resolve("out.onnx")));
        structured.add("--structured");
        assertRejected(structured, "--sparsity 2:4");
        assertRejected(List.of("compare", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--patterns", "2:4,1.5"), "--patterns");
    }

    @Test
    void theBundledTokenizerDoesNotFitTheTinyVocabulary() {
        List<String> args = new ArrayList<>(pruneArgs(model, work.resolve("out.onnx")));
        int at = args.indexOf("--tokenizer");
        args.subList(at, at + 2).clear();
        assertRejected(args, "outside the vocabulary of " + model, "--tokenizer");
    }

    @Test
    void sequencesLongerThanTheModelsPositions() {
        List<String> args = new ArrayList<>(pruneArgs(model, work.resolve("out.onnx")));
        args.addAll(List.of("--seq-len", "200"));
        assertRejected(args, "--seq-len");
    }

    @Test
    void evalAgainstAnotherModel() {
        Path other = TinyBert.write(work.resolve("wide.onnx"),
                new TinyBert.Config(2, 48, 4, 64, TinyBert.TOKENIZER_VOCAB, 128, 3, false));
        assertRejected(List.of("eval", "--model", pruned.toString(), "--reference", other.toString(), "--tokenizer",
                tokenizer.toString(), "--text", evalText.toString(), "--json"), "--reference");
    }

    /** {@code prune} of {@code modelFile} to {@code output} with the test's inputs, thanos 2:4. */
    private static List<String> pruneArgs(Path modelFile, Path output) {
        return List.of("prune", "--model", modelFile.toString(), "--tokenizer", tokenizer.toString(),
                "--calibration", calibration.toString(), "--eval-text", evalText.toString(), "--samples", "8",
                "--eval-samples", "8", "--method", "thanos", "--sparsity", "2:4", "--output", output.toString());
    }

    /** Runs {@code args}: exit code 2, one line on stderr naming each of {@code expected}, no file created or changed. */
    private void assertRejected(List<String> args, String... expected) {
        Map<String, String> before = snapshot(root);
        before.putAll(snapshot(work));
        Run run = run(args.toArray(String[]::new));
        String why = String.join(" ", args) + "\n" + run.err() + run.systemErr();
        assertEquals(Main.USER_ERROR, run.code(), why);
        assertTrue(run.err().startsWith("thanosj: "), why);
        assertEquals(1, run.err().lines().count(), "one line: " + why);
        assertFalse(run.err().contains("\tat ") || run.systemErr().contains("\tat "), "no stack trace: " + why);
        for (String e : expected) {
            assertTrue(run.err().contains(e), "expected '" + e + "' in: " + why);
        }
        assertEquals("", run.out(), why);
        Map<String, String> after = snapshot(root);
        after.putAll(snapshot(work));
        assertEquals(before, after, "nothing written: " + why);
    }

    /** Every file under {@code dir}: path → size and modification time. */
    private static Map<String, String> snapshot(Path dir) {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                files.put(p.toString(), Files.isDirectory(p) ? "dir" : Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis());
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return files;
    }

    /** Runs {@code args} in-process with the JVM's stdout and stderr captured too. */
    private static synchronized Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream systemOut = new ByteArrayOutputStream();
        ByteArrayOutputStream systemErr = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        int code;
        try {
            System.setOut(new PrintStream(systemOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(systemErr, true, StandardCharsets.UTF_8));
            code = Main.run(Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)), args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        Run run = new Run(code, out.toString(), err.toString(), systemOut.toString(StandardCharsets.UTF_8),
                systemErr.toString(StandardCharsets.UTF_8));
        savedErr.print(run.systemErr());
        return run;
    }
}
