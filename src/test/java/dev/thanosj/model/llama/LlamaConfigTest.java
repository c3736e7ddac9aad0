package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code config.json} parsing: the real shapes of the supported families, and every refusal naming the file. */
class LlamaConfigTest {
    @TempDir
    Path tmp;

    /** Llama-2-7b-hf's config.json (abridged to what is read), as published. */
    static final String LLAMA2_7B = """
            {"architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
             "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 11008,
             "max_position_embeddings": 4096, "model_type": "llama", "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 32, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": null, "tie_word_embeddings": false, "torch_dtype": "float16",
             "transformers_version": "4.31.0.dev0", "use_cache": true, "vocab_size": 32000}""";

    /** Llama-3.1-8B's config.json (abridged), with its llama3 rope scaling. */
    static final String LLAMA31_8B = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 128000, "eos_token_id": 128001, "hidden_act": "silu", "hidden_size": 4096,
             "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false,
             "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 128256}""";

    /** Mistral-7B-v0.1 (sliding window 4096). */
    static final String MISTRAL_7B = """
            {"architectures": ["MistralForCausalLM"], "hidden_act": "silu", "hidden_size": 4096,
             "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
             "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
             "vocab_size": 32000}""";

    /** Qwen2-0.5B (tied embeddings, no head_dim, sliding window off). */
    static final String QWEN2_05B = """
            {"architectures": ["Qwen2ForCausalLM"], "hidden_act": "silu", "hidden_size": 896,
             "intermediate_size": 4864, "max_position_embeddings": 131072, "max_window_layers": 24,
             "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 131072, "tie_word_embeddings": true,
             "torch_dtype": "bfloat16", "use_sliding_window": false, "vocab_size": 151936}""";

    @Test
    void llama2() {
        LlamaConfig c = LlamaConfig.parse(LLAMA2_7B, "llama2");
        assertEquals("LlamaForCausalLM", c.architecture());
        assertEquals(4096, c.hiddenSize());
        assertEquals(11008, c.intermediateSize());
        assertEquals(32, c.numHiddenLayers());
        assertEquals(32, c.numKeyValueHeads());
        assertEquals(128, c.headDim());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta(), "default rope_theta");
        assertNull(c.ropeScaling());
        assertEquals(2048, c.seqLen(null));
        assertEquals(2, c.storageBytes());
        assertFalse(c.qkvBias());
    }

    @Test
    void llama31WithRopeScaling() {
        LlamaConfig c = LlamaConfig.parse(LLAMA31_8B, "llama3");
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(1024, c.kvDim());
        assertEquals(new LlamaConfig.RopeScaling(8, 1, 4, 8192), c.ropeScaling());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(128256, c.vocabSize());
    }

    @Test
    void mistralAndQwen2() {
        LlamaConfig m = LlamaConfig.parse(MISTRAL_7B, "mistral");
        assertEquals(4096, m.slidingWindow());
        LlamaConfig q = LlamaConfig.parse(QWEN2_05B, "qwen2");
        assertTrue(q.qkvBias());
        assertTrue(q.tieWordEmbeddings());
        assertEquals(64, q.headDim());
        assertEquals(0, q.slidingWindow(), "use_sliding_window false");
        assertTrue(q.describe().contains("Qwen2ForCausalLM"));
    }

    @Test
    void defaultsAndOldRopeScalingKey() {
        ObjectNode c = TinyLlama.config("LlamaForCausalLM");
        c.remove("num_key_value_heads");
        c.putObject("rope_scaling").put("type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        LlamaConfig parsed = LlamaConfig.parse(c.toString(), "x");
        assertEquals(4, parsed.numKeyValueHeads(), "num_key_value_heads defaults to the query heads");
        assertEquals(8.0, parsed.ropeScaling().factor());
        c.putObject("rope_scaling").put("rope_type", "default");
        assertNull(LlamaConfig.parse(c.toString(), "x").ropeScaling());
    }

    @Test
    void seqLenIsCappedByTheModel() {
        LlamaConfig c = LlamaConfig.parse(TinyLlama.config("LlamaForCausalLM").toString(), "tiny");
        assertEquals(64, c.seqLen(null), "min(2048, max_position_embeddings)");
        assertEquals(16, c.seqLen(16));
        ThanosjException e = assertThrows(ThanosjException.class, () -> c.seqLen(65));
        assertTrue(e.getMessage().contains("--seq-len 65") && e.getMessage().contains("64"), e.getMessage());
    }

    @Test
    void unsupportedArchitecturesAreNamed() throws IOException {
        Files.writeString(tmp.resolve("config.json"), TinyLlama.config("GPTNeoXForCausalLM").toString());
        ThanosjException e = assertThrows(ThanosjException.class, () -> LlamaConfig.read(tmp));
        assertTrue(e.getMessage().contains("'GPTNeoXForCausalLM' is not supported"), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM"), e.getMessage());
    }

    @Test
    void missingOrInvalidConfigFilesAreNamed() throws IOException {
        ThanosjException missing = assertThrows(ThanosjException.class, () -> LlamaConfig.read(tmp));
        assertTrue(missing.getMessage().contains(tmp + ": has no config.json"), missing.getMessage());
        Files.writeString(tmp.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"],");
        ThanosjException invalid = assertThrows(ThanosjException.class, () -> LlamaConfig.read(tmp));
        assertTrue(invalid.getMessage().startsWith(tmp.resolve("config.json") + ": not valid JSON"), invalid.getMessage());
        Files.writeString(tmp.resolve("config.json"), "[1, 2]");
        assertThrows(ThanosjException.class, () -> LlamaConfig.read(tmp));
    }

    @Test
    void badFieldsAreNamed() {
        assertRefused(TinyLlama.config("LlamaForCausalLM").put("hidden_size", -1), "\"hidden_size\" must be a positive integer");
        assertRefused(without(TinyLlama.config("LlamaForCausalLM"), "vocab_size"), "\"vocab_size\" is missing");
        assertRefused(TinyLlama.config("LlamaForCausalLM").put("num_key_value_heads", 3), "not a multiple of num_key_value_heads 3");
        assertRefused(TinyLlama.config("LlamaForCausalLM").put("hidden_act", "gelu"), "hidden_act 'gelu' is not supported");
        assertRefused(TinyLlama.config("LlamaForCausalLM").put("attention_bias", true), "attention_bias true is not supported");
        assertRefused(TinyLlama.config("Qwen2ForCausalLM").put("use_sliding_window", true), "use_sliding_window true");
        assertRefused(TinyLlama.config("LlamaForCausalLM").put("head_dim", 7), "head_dim 7 is odd");
        ObjectNode yarn = TinyLlama.config("LlamaForCausalLM");
        yarn.putObject("rope_scaling").put("type", "yarn").put("factor", 4.0);
        assertRefused(yarn, "rope_scaling type 'yarn' is not supported");
        ObjectNode noFactor = TinyLlama.config("LlamaForCausalLM");
        noFactor.putObject("rope_scaling").put("rope_type", "llama3");
        assertRefused(noFactor, "rope_scaling: \"factor\" is missing");
        ObjectNode inverted = TinyLlama.config("LlamaForCausalLM");
        inverted.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 4.0)
                .put("high_freq_factor", 1.0).put("original_max_position_embeddings", 8192);
        assertRefused(inverted, "0 < low_freq_factor < high_freq_factor");
        assertRefused(without(TinyLlama.config("LlamaForCausalLM"), "architectures"), "has no \"architectures\"");
    }

    private static ObjectNode without(ObjectNode c, String key) {
        c.remove(key);
        return c;
    }

    private static void assertRefused(ObjectNode config, String expected) {
        ThanosjException e = assertThrows(ThanosjException.class, () -> LlamaConfig.parse(config.toString(), "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json"), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
