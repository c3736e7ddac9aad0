package dev.thanosj.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.model.llama.TinyLlama;
import dev.thanosj.model.safetensors.SafetensorsModel;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code prune} and {@code eval} on a tiny random Llama checkpoint folder, in-process. */
class DecoderCommandsTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        Main.configure(cli, new PrintWriter(out, true), new PrintWriter(err, true));
        int code = Main.run(cli, args);
        return new Run(code, out.toString(), err.toString());
    }

    private Path model(String architecture) throws IOException {
        return TinyLlama.write(dir.resolve("model"), TinyLlama.config(architecture), 3, 2);
    }

    private Path text() throws IOException {
        Path text = dir.resolve("text.txt");
        Files.writeString(text, TinyLlama.text(5, 600));
        return text;
    }

    @Test
    void prunesAFolderWritesAReportAndEvaluatesPerplexity() throws IOException {
        Path model = model("LlamaForCausalLM");
        Path text = text();
        Path out = dir.resolve("pruned");
        Run prune = run("prune", "--model", model.toString(), "--output", out.toString(), "--method", "thanos",
                "--sparsity", "2:4", "--calibration", text.toString(), "--samples", "4", "--seq-len", "16",
                "--eval-text", text.toString());
        assertEquals(Main.OK, prune.code(), prune.err());
        assertTrue(prune.out().contains("perplexity"), prune.out());
        assertTrue(prune.err().contains("total"), "memory plan on stderr: " + prune.err());
        JsonNode report = new ObjectMapper().readTree(dir.resolve("pruned.report.json").toFile());
        assertEquals(14, report.get("layers").size());
        assertTrue(report.get("perplexity").get("perplexity").asDouble() > 1, report.toString());
        try (SafetensorsModel pruned = SafetensorsModel.open(out); Arena arena = Arena.ofConfined()) {
            FloatMatrix down = pruned.matrix(arena, "model.layers.1.mlp.down_proj.weight");
            for (int r = 0; r < down.rows(); r++) {
                for (int g = 0; g < down.cols(); g += 4) {
                    int zeros = 0;
                    for (int c = g; c < g + 4; c++) {
                        zeros += down.get(r, c) == 0f ? 1 : 0;
                    }
                    assertTrue(zeros >= 2, "group at " + r + "," + g);
                }
            }
        }
        Run eval = run("eval", "--model", out.toString(), "--text", text.toString(), "--seq-len", "16", "--json");
        assertEquals(Main.OK, eval.code(), eval.err());
        String[] lines = eval.out().strip().split("\n");
        assertEquals(1, lines.length, "one JSON object: " + eval.out());
        JsonNode json = new ObjectMapper().readTree(lines[0]);
        assertTrue(json.get("perplexity").isNumber(), lines[0]);
        assertTrue(json.get("windows").asInt() >= 1, lines[0]);
    }

    private void assertUserError(String mustMention, String... args) throws IOException {
        List<Path> before = listing();
        Run run = run(args);
        assertEquals(Main.USER_ERROR, run.code(), run.out() + run.err());
        assertTrue(run.err().contains("thanosj: "), run.err());
        assertTrue(run.err().contains(mustMention), "'" + mustMention + "' in: " + run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertEquals(before, listing(), "nothing written");
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }

    @Test
    void badFoldersAreUserErrorsAndWriteNothing() throws IOException {
        Path text = text();
        String out = dir.resolve("pruned").toString();
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertUserError("config.json", "prune", "--model", empty.toString(), "--output", out, "--method", "wanda",
                "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2", "--seq-len", "16");
        Path unsupported = TinyLlama.write(dir.resolve("gpt2"), TinyLlama.config("LlamaForCausalLM"), 1, 1);
        ObjectNode gpt2 = TinyLlama.config("LlamaForCausalLM");
        gpt2.set("architectures", new ObjectMapper().createArrayNode().add("GPT2LMHeadModel"));
        Files.writeString(unsupported.resolve("config.json"), gpt2.toString());
        assertUserError("GPT2LMHeadModel", "prune", "--model", unsupported.toString(), "--output", out, "--method",
                "wanda", "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2", "--seq-len", "16");
        Path model = model("LlamaForCausalLM");
        assertUserError("is the input", "prune", "--model", model.toString(), "--output", model.toString(),
                "--method", "wanda", "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2");
        assertUserError("--seq-len", "prune", "--model", model.toString(), "--output", out, "--method", "wanda",
                "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2", "--seq-len", "4096");
        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "the cat sat");
        assertUserError("short.txt", "prune", "--model", model.toString(), "--output", out, "--method", "wanda",
                "--sparsity", "0.5", "--calibration", shortText.toString(), "--samples", "2", "--seq-len", "16");
        assertUserError("short.txt", "eval", "--model", model.toString(), "--text", shortText.toString(),
                "--seq-len", "16");
    }
}
