package dev.thanosj.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.model.llama.TinyLlama;
import dev.thanosj.model.safetensors.SafetensorsModel;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code prune} and {@code eval} on a tiny random Llama checkpoint folder, in-process. */
class DecoderCommandsTest {
    @TempDir
    Path dir;



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
        Cli.Run prune = Cli.run("prune", "--model", model.toString(), "--output", out.toString(), "--method", "thanos",
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
        Cli.Run eval = Cli.run("eval", "--model", out.toString(), "--text", text.toString(), "--seq-len", "16", "--json");
        assertEquals(Main.OK, eval.code(), eval.err());
        String[] lines = eval.out().strip().split("\n");
        assertEquals(1, lines.length, "one JSON object: " + eval.out());
        JsonNode json = new ObjectMapper().readTree(lines[0]);
        assertTrue(json.get("perplexity").isNumber(), lines[0]);
        assertTrue(json.get("windows").asInt() >= 1, lines[0]);
    }



    @Test
    void badFoldersAreUserErrorsAndWriteNothing() throws IOException {
        Path text = text();
        String out = dir.resolve("pruned").toString();
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Cli.assertUserError(dir, "config.json", "prune", "--model", empty.toString(), "--output", out, "--method", "wanda",
                "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2", "--seq-len", "16");
        Path unsupported = TinyLlama.write(dir.resolve("gpt2"), TinyLlama.config("LlamaForCausalLM"), 1, 1);
        ObjectNode gpt2 = TinyLlama.config("LlamaForCausalLM");
        gpt2.set("architectures", new ObjectMapper().createArrayNode().add("GPT2LMHeadModel"));
        Files.writeString(unsupported.resolve("config.json"), gpt2.toString());
        Cli.assertUserError(dir, "GPT2LMHeadModel", "prune", "--model", unsupported.toString(), "--output", out, "--method",
                "wanda", "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2", "--seq-len", "16");
        Path model = model("LlamaForCausalLM");
        Cli.assertUserError(dir, "is the input", "prune", "--model", model.toString(), "--output", model.toString(),
                "--method", "wanda", "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2");
        Cli.assertUserError(dir, "--seq-len", "prune", "--model", model.toString(), "--output", out, "--method", "wanda",
                "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2", "--seq-len", "4096");
        Path occupied = Files.createDirectories(dir.resolve("occupied"));
        Files.writeString(occupied.resolve("notes.txt"), "unrelated");
        Cli.assertUserError(dir, "not empty", "prune", "--model", model.toString(), "--output", occupied.toString(),
                "--method", "wanda", "--sparsity", "0.5", "--calibration", text.toString(), "--samples", "2",
                "--seq-len", "16");
        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "the cat sat");
        Cli.assertUserError(dir, "short.txt", "prune", "--model", model.toString(), "--output", out, "--method", "wanda",
                "--sparsity", "0.5", "--calibration", shortText.toString(), "--samples", "2", "--seq-len", "16");
        Cli.assertUserError(dir, "short.txt", "eval", "--model", model.toString(), "--text", shortText.toString(),
                "--seq-len", "16");
    }
}
