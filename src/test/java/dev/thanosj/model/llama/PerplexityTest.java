package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Perplexity against the reference repositories' protocol computed from {@link ReferenceLlama}'s double
 * logits: non-overlapping windows, the remainder dropped, {@code exp} of the mean cross-entropy of the
 * shifted logits. The fast path agrees to 1e-5 relative (float32 logits, double log-softmax).
 */
class PerplexityTest {
    @TempDir
    Path tmp;

    @Test
    void matchesTheReferenceProtocolInAnyBatching() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("LlamaForCausalLM"), 41, 1);
        int[] tokens = new SplittableRandom(2).ints(16 * 5 + 7, 0, 48).toArray();
        try (LlamaModel model = LlamaModel.open(dir); ReferenceLlama reference = new ReferenceLlama(model)) {
            double expected = referencePerplexity(reference, tokens, 16);
            for (int perBatch : new int[] {1, 2, 5}) {
                List<long[]> updates = new ArrayList<>();
                Perplexity.Result r = Perplexity.evaluate(model, tokens, 16, "t",
                        (done, total) -> updates.add(new long[] {done, total}), perBatch);
                assertEquals(expected, r.perplexity(), 1e-5 * expected, "batches of " + perBatch);
                assertEquals(5, r.windows());
                assertEquals(5 * 15, r.tokens(), "the first token of a window is never predicted");
                long batches = (5 + perBatch - 1) / perBatch;
                assertEquals(batches * (model.blocks() + 1), updates.size());
                assertEquals(updates.getLast()[1], updates.getLast()[0], "progress ends at its total");
            }
            assertEquals(expected, Perplexity.evaluate(model, tokens, 16, "t", (d, t) -> { }).perplexity(), 1e-5 * expected);
        }
    }

    @Test
    void theLogSoftmaxRunsAcrossVocabularyChunks() throws IOException {
        ObjectNode config = TinyLlama.config("MistralForCausalLM");
        config.put("vocab_size", LlamaModel.VOCAB_CHUNK + 77);
        config.put("hidden_size", 16);
        config.put("num_hidden_layers", 1);
        Path dir = TinyLlama.write(tmp.resolve("m"), config, 42, 1);
        int[] tokens = new SplittableRandom(3).ints(24, 0, LlamaModel.VOCAB_CHUNK + 77).toArray();
        try (LlamaModel model = LlamaModel.open(dir); ReferenceLlama reference = new ReferenceLlama(model)) {
            double expected = referencePerplexity(reference, tokens, 8);
            assertEquals(expected, Perplexity.evaluate(model, tokens, 8, "t", (d, t) -> { }).perplexity(), 1e-5 * expected);
        }
    }

    @Test
    void evaluatesATextFileWithTheModelsTokenizer() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("LlamaForCausalLM"), 43, 1);
        Path text = Files.writeString(tmp.resolve("eval.txt"), TinyLlama.text(9, 100));
        try (LlamaModel model = LlamaModel.open(dir); LlamaTokenizer tokenizer = LlamaTokenizer.open(dir)) {
            int[] tokens = tokenizer.encodeFile(text);
            Perplexity.Result r = Perplexity.evaluate(model, text, 32);
            assertEquals(Perplexity.evaluate(model, tokens, 32, "t", (d, t) -> { }).perplexity(), r.perplexity());
            assertEquals(101 / 32, r.windows());
            assertTrue(r.perplexity() > 1 && r.seconds() >= 0, r.toString());
            Path shortText = Files.writeString(tmp.resolve("short.txt"), "the cat sat");
            ThanosjException e = assertThrows(ThanosjException.class, () -> Perplexity.evaluate(model, shortText, 32));
            assertTrue(e.getMessage().contains("short.txt has 4 tokens, fewer than one window of --seq-len 32"),
                    e.getMessage());
        }
    }

    /** {@code exp(mean over windows and t < L-1 of -log softmax(logits[t])[x[t+1]])}, all in double. */
    private static double referencePerplexity(ReferenceLlama reference, int[] tokens, int seqLen) {
        int windows = tokens.length / seqLen;
        double nll = 0;
        for (int w = 0; w < windows; w++) {
            int[] x = Arrays.copyOfRange(tokens, w * seqLen, (w + 1) * seqLen);
            double[][] logits = reference.logits(x);
            for (int t = 0; t < seqLen - 1; t++) {
                double max = Arrays.stream(logits[t]).max().orElseThrow();
                double sum = 0;
                for (double l : logits[t]) {
                    sum += Math.exp(l - max);
                }
                nll += max + Math.log(sum) - logits[t][x[t + 1]];
            }
        }
        return Math.exp(nll / (windows * (seqLen - 1.0)));
    }
}
