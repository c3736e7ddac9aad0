package dev.thanosj.model.llama;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.model.safetensors.SafetensorsWriter;
import dev.thanosj.model.safetensors.SafetensorsWriter.FromMatrix;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Tiny random Llama-family checkpoints written by the tests: {@code config.json}, bf16 weights (one
 * {@code model.safetensors} or shards with an index), a WordLevel {@code tokenizer.json} that adds {@code <s>}
 * at the start like Llama's, and a {@code generation_config.json}. Every checkpoint also holds an F32
 * {@code rotary_emb.inv_freq} buffer, as old Llama checkpoints do, which the model must carry along unchanged.
 */
public final class TinyLlama {
    static final JsonMapper JSON = JsonMapper.builder().build();
    /** The tokenizer's words; ids are 2 + index ({@code <unk>} is 0, {@code <s>} is 1). */
    static final List<String> WORDS = List.of("the", "of", "and", "to", "in", "is", "that", "for", "it", "this",
            "we", "be", "on", "with", "are", "as", "not", "have", "by", "which", "cat", "dog", "sat", "ran", "mat",
            "house", "tree", "red", "blue", "green", ".", ",");

    private TinyLlama() {
    }

    /** A Llama 2 style config: hidden 32, 4 query and 2 key/value heads of 8, 2 layers, vocabulary 48. */
    public static ObjectNode config(String architecture) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(architecture);
        c.put("model_type", architecture.replace("ForCausalLM", "").toLowerCase(java.util.Locale.ROOT));
        c.put("hidden_size", 32);
        c.put("intermediate_size", 48);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("hidden_act", "silu");
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.putNull("rope_scaling");
        c.put("max_position_embeddings", 64);
        c.put("vocab_size", 48);
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", "bfloat16");
        c.put("bos_token_id", 1);
        return c;
    }

    /**
     * {@code config} with Llama 3's rope scaling (factor 8, original context 160, now 256): with theta 10000 and head
     * width 8 the wavelengths 6.3, 63, 628 and 6283 fall in the kept, smoothed, divided and divided bands.
     */
    static ObjectNode withLlama3Scaling(ObjectNode config) {
        ObjectNode s = config.putObject("rope_scaling");
        s.put("rope_type", "llama3");
        s.put("factor", 8.0);
        s.put("low_freq_factor", 1.0);
        s.put("high_freq_factor", 4.0);
        s.put("original_max_position_embeddings", 160);
        config.put("max_position_embeddings", 256);
        return config;
    }

    /** Writes a model folder {@code dir} for {@code config} with weights drawn from {@code seed}, in {@code shards} files. */
    public static Path write(Path dir, ObjectNode config, long seed, int shards) throws IOException {
        Files.createDirectories(dir);
        LlamaConfig c = LlamaConfig.parse(config.toString(), "test config");
        Files.writeString(dir.resolve(LlamaConfig.FILE), config.toPrettyString());
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"do_sample\": false}\n");
        Files.writeString(dir.resolve(LlamaTokenizer.FILE), tokenizerJson());
        SplittableRandom random = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            List<FromMatrix> tensors = new ArrayList<>();
            int h = c.hiddenSize();
            tensors.add(matrix(arena, random, "model.embed_tokens.weight", c.vocabSize(), h, 1.0, 0));
            for (int b = 0; b < c.numHiddenLayers(); b++) {
                String p = "model.layers." + b + ".";
                tensors.add(vector(arena, random, p + "input_layernorm.weight", h, 0.2, 1));
                linear(tensors, arena, random, p + "self_attn.q_proj", c.qDim(), h, c.qkvBias());
                linear(tensors, arena, random, p + "self_attn.k_proj", c.kvDim(), h, c.qkvBias());
                linear(tensors, arena, random, p + "self_attn.v_proj", c.kvDim(), h, c.qkvBias());
                linear(tensors, arena, random, p + "self_attn.o_proj", h, c.qDim(), false);
                tensors.add(vector(arena, random, p + "post_attention_layernorm.weight", h, 0.2, 1));
                linear(tensors, arena, random, p + "mlp.gate_proj", c.intermediateSize(), h, false);
                linear(tensors, arena, random, p + "mlp.up_proj", c.intermediateSize(), h, false);
                linear(tensors, arena, random, p + "mlp.down_proj", h, c.intermediateSize(), false);
            }
            tensors.add(vector(arena, random, "model.norm.weight", h, 0.2, 1));
            if (!c.tieWordEmbeddings()) {
                tensors.add(matrix(arena, random, "lm_head.weight", c.vocabSize(), h, 1 / Math.sqrt(h), 0));
            }
            FloatMatrix invFreq = FloatMatrix.allocate(arena, 1, c.headDim() / 2);
            for (int i = 0; i < c.headDim() / 2; i++) {
                invFreq.set(0, i, (float) Math.pow(c.ropeTheta(), -2.0 * i / c.headDim()));
            }
            tensors.add(new FromMatrix("model.layers.0.self_attn.rotary_emb.inv_freq", invFreq, DType.F32,
                    new long[] {c.headDim() / 2}));
            writeWeights(dir, tensors, shards);
        }
        return dir;
    }

    private static void writeWeights(Path dir, List<FromMatrix> tensors, int shards) throws IOException {
        if (shards == 1) {
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            return;
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode map = index.putObject("weight_map");
        int perShard = (tensors.size() + shards - 1) / shards;
        for (int s = 0; s < shards; s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            List<FromMatrix> part = tensors.subList(s * perShard, Math.min(tensors.size(), (s + 1) * perShard));
            SafetensorsWriter.write(dir.resolve(name), part, Map.of("format", "pt"));
            part.forEach(t -> map.put(t.name(), name));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toPrettyString());
    }

    private static void linear(List<FromMatrix> tensors, Arena arena, SplittableRandom random, String prefix, int out,
            int in, boolean bias) {
        tensors.add(matrix(arena, random, prefix + ".weight", out, in, 1 / Math.sqrt(in), 0));
        if (bias) {
            tensors.add(vector(arena, random, prefix + ".bias", out, 0.5, 0));
        }
    }

    private static FromMatrix matrix(Arena arena, SplittableRandom random, String name, int rows, int cols,
            double scale, double mean) {
        FloatMatrix m = FloatMatrix.allocate(arena, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                m.set(r, c, (float) (mean + scale * random.nextGaussian()));
            }
        }
        return new FromMatrix(name, m, DType.BF16);
    }

    private static FromMatrix vector(Arena arena, SplittableRandom random, String name, int n, double scale, double mean) {
        FromMatrix m = matrix(arena, random, name, 1, n, scale, mean);
        return new FromMatrix(name, m.matrix(), DType.BF16, new long[] {n});
    }

    /** A WordLevel tokenizer over {@link #WORDS} (whitespace and punctuation split) that prepends {@code <s>}. */
    static String tokenizerJson() {
        ObjectNode t = JSON.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        ArrayNode added = t.putArray("added_tokens");
        addedToken(added, 0, "<unk>");
        addedToken(added, 1, "<s>");
        t.putNull("normalizer");
        t.putObject("pre_tokenizer").put("type", "Whitespace");
        ObjectNode post = t.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        t.putNull("decoder");
        ObjectNode model = t.putObject("model");
        model.put("type", "WordLevel");
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("<unk>", 0);
        vocab.put("<s>", 1);
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.put(WORDS.get(i), i + 2);
        }
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        model.put("unk_token", "<unk>");
        return t.toPrettyString();
    }

    private static void addedToken(ArrayNode added, int id, String content) {
        ObjectNode a = added.addObject();
        a.put("id", id);
        a.put("content", content);
        a.put("single_word", false);
        a.put("lstrip", false);
        a.put("rstrip", false);
        a.put("normalized", false);
        a.put("special", true);
    }

    /** {@code words} random words of the tokenizer's vocabulary, separated by spaces. */
    public static String text(long seed, int words) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < words; i++) {
            b.append(i == 0 ? "" : i % 12 == 0 ? "\n" : " ").append(WORDS.get(random.nextInt(WORDS.size())));
        }
        return b.toString();
    }

    /** {@code n} sequences of {@code length} random token ids below {@code vocab}. */
    static List<int[]> tokens(long seed, int n, int length, int vocab) {
        SplittableRandom random = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            out.add(random.ints(length, 0, vocab).toArray());
        }
        return out;
    }
}
