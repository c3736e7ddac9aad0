package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.model.pipeline.SequentialPruner;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calibration windows, what {@link LlamaCalibration} shows each linear (against {@link ReferenceLlama}'s
 * block inputs), that {@code capture} leaves the activations alone and {@code advance} moves them one block,
 * and an end-to-end prune with {@link SequentialPruner}: every saved linear has the requested 2:4 pattern.
 */
class LlamaCalibrationTest {
    static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    @Test
    void windowsAreSeededUniformStartsInsideTheText() {
        int[] tokens = new int[100];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i;
        }
        List<int[]> a = LlamaCalibration.windows(tokens, 50, 10, 7, "t");
        List<int[]> b = LlamaCalibration.windows(tokens, 50, 10, 7, "t");
        List<int[]> c = LlamaCalibration.windows(tokens, 50, 10, 8, "t");
        boolean differs = false;
        for (int s = 0; s < 50; s++) {
            assertArrayEquals(a.get(s), b.get(s), "same seed, same windows");
            int start = a.get(s)[0];
            assertTrue(start >= 0 && start <= 90, "start " + start);
            for (int t = 0; t < 10; t++) {
                assertEquals(start + t, a.get(s)[t], "consecutive tokens");
            }
            differs |= a.get(s)[0] != c.get(s)[0];
        }
        assertTrue(differs, "another seed draws other windows");
        assertEquals(3, LlamaCalibration.windows(new int[10], 3, 10, 1, "t").size(), "a text of exactly one window");
        ThanosjException e = assertThrows(ThanosjException.class,
                () -> LlamaCalibration.windows(new int[9], 3, 10, 1, "notes.txt"));
        assertTrue(e.getMessage().contains("notes.txt has 9 tokens, fewer than one window of --seq-len 10"), e.getMessage());
    }

    @Test
    void captureShowsEveryLinearItsInputAndAdvanceMovesOneBlock() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("Qwen2ForCausalLM"), 31, 1);
        List<int[]> windows = TinyLlama.tokens(3, 4, 12, 48);
        try (LlamaModel model = LlamaModel.open(dir); ReferenceLlama reference = new ReferenceLlama(model);
                LlamaCalibration pass = LlamaCalibration.of(model, windows)) {
            for (int block = 0; block < model.blocks(); block++) {
                List<Map<String, double[][]>> expected = new ArrayList<>();
                List<double[][]> expectedHidden = new ArrayList<>();
                for (int[] w : windows) {
                    Map<String, double[][]> taps = new HashMap<>();
                    reference.hidden(w, block + 1, taps);
                    expected.add(taps);
                    expectedHidden.add(reference.hidden(w, block + 1, null));
                }
                Map<String, List<FloatMatrix>> seen = new LinkedHashMap<>();
                Map<String, Integer> sequences = new HashMap<>();
                FloatMatrix before;
                try (Arena arena = Arena.ofConfined()) {
                    before = pass.hidden().copy(arena);
                    int b = block;
                    pass.capture(block, (linear, inputs, n) -> {
                        assertEquals(b, linear.block());
                        assertEquals(linear.cols(), inputs.cols());
                        assertEquals(n * 12, inputs.rows(), "whole windows");
                        seen.computeIfAbsent(linear.name(), k -> new ArrayList<>()).add(inputs.copy(arena));
                        sequences.merge(linear.name(), n, Integer::sum);
                    });
                    assertEquals(model.linears(block).stream().map(LinearRef::name).toList(), List.copyOf(seen.keySet()),
                            "every linear, in the block's order");
                    for (Map.Entry<String, List<FloatMatrix>> e : seen.entrySet()) {
                        assertEquals(windows.size(), sequences.get(e.getKey()), e.getKey());
                        int row = 0;
                        for (FloatMatrix part : e.getValue()) {
                            for (int r = 0; r < part.rows(); r++, row++) {
                                double[] ref = expected.get(row / 12).get(e.getKey())[row % 12];
                                assertRowClose(ref, part, r, e.getKey() + " row " + row);
                            }
                        }
                    }
                    assertSameContent(before, pass.hidden(), "capture leaves the activations unchanged");
                }
                pass.advance(block);
                for (int s = 0; s < windows.size(); s++) {
                    for (int t = 0; t < 12; t++) {
                        assertRowClose(expectedHidden.get(s)[t], pass.hidden(), s * 12 + t, "hidden after block " + block);
                    }
                }
            }
        }
    }

    @Test
    void sampleTokenizesTheTextFileWithTheModelsTokenizer() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("LlamaForCausalLM"), 32, 1);
        Path text = Files.writeString(tmp.resolve("calibration.txt"), TinyLlama.text(5, 300));
        try (LlamaModel model = LlamaModel.open(dir); LlamaTokenizer tokenizer = LlamaTokenizer.open(dir)) {
            int[] tokens = tokenizer.encodeFile(text);
            assertEquals(301, tokens.length, "one token per word, one <s> at the start");
            assertEquals(1, tokens[0]);
            assertEquals(TinyLlama.WORDS.indexOf("the") + 2, tokenizer.encode("the")[1]);
            try (LlamaCalibration pass = LlamaCalibration.sample(model, tokenizer, text, 6, 16, 3)) {
                assertEquals(6, pass.samples());
                assertEquals(16, pass.seqLen());
                List<int[]> windows = LlamaCalibration.windows(tokens, 6, 16, 3, "t");
                try (Arena arena = Arena.ofShared()) {
                    FloatMatrix embedded = FloatMatrix.allocate(arena, 6 * 16, 32);
                    model.embed(windows, embedded);
                    assertSameContent(embedded, pass.hidden(), "the windows' embeddings");
                }
            }
            Path shortText = Files.writeString(tmp.resolve("short.txt"), "the cat");
            ThanosjException e = assertThrows(ThanosjException.class,
                    () -> LlamaCalibration.sample(model, tokenizer, shortText, 2, 16, 1));
            assertTrue(e.getMessage().contains("short.txt has 3 tokens"), e.getMessage());
            ThanosjException missing = assertThrows(ThanosjException.class,
                    () -> tokenizer.encodeFile(tmp.resolve("nope.txt")));
            assertTrue(missing.getMessage().contains("nope.txt does not exist"), missing.getMessage());
        }
        Files.delete(dir.resolve("tokenizer.json"));
        ThanosjException e = assertThrows(ThanosjException.class, () -> LlamaTokenizer.open(dir));
        assertTrue(e.getMessage().contains("has no tokenizer.json"), e.getMessage());
    }

    @Test
    void sequentialPruningGivesEverySavedLinearTheRequestedPattern() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("LlamaForCausalLM"), 33, 2);
        Path out = tmp.resolve("pruned");
        PruneSpec spec = PruneSpec.of(Method.THANOS, new Pattern.NOfM(2, 4));
        try (LlamaModel model = LlamaModel.open(dir);
                LlamaCalibration pass = LlamaCalibration.of(model, TinyLlama.tokens(8, 8, 32, 48))) {
            List<Integer> done = new ArrayList<>();
            SequentialPruner.Report report = SequentialPruner.prune(model, pass, spec,
                    (block, blocks, layers) -> done.add(block));
            assertEquals(List.of(0, 1), done);
            assertEquals(14, report.layers().size());
            assertEquals(0.5, report.sparsity(), 1e-3);
            model.save(out);
        }
        try (LlamaModel pruned = LlamaModel.open(out); Arena arena = Arena.ofConfined()) {
            for (int b = 0; b < pruned.blocks(); b++) {
                for (LinearRef linear : pruned.linears(b)) {
                    FloatMatrix w = pruned.weight(linear, arena);
                    for (int r = 0; r < w.rows(); r++) {
                        for (int g = 0; g < w.cols(); g += 4) {
                            int zeros = 0;
                            for (int c = g; c < g + 4; c++) {
                                zeros += w.get(r, c) == 0 ? 1 : 0;
                            }
                            assertTrue(zeros >= 2, linear.name() + " row " + r + " group " + g + ": " + zeros + " zeros");
                        }
                    }
                }
            }
        }
    }

    static void assertRowClose(double[] expected, FloatMatrix actual, int row, String what) {
        double scale = 1;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int c = 0; c < expected.length; c++) {
            assertEquals(expected[c], actual.get(row, c), TOLERANCE * scale, what + " column " + c);
        }
    }

    static void assertSameContent(FloatMatrix expected, FloatMatrix actual, String what) {
        assertEquals(expected.shape(), actual.shape(), what);
        for (int r = 0; r < expected.rows(); r++) {
            for (int c = 0; c < expected.cols(); c++) {
                assertEquals(expected.get(r, c), actual.get(r, c), what);
            }
        }
    }
}
