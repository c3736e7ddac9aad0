package dev.thanosj.model.llama;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The shape of a Llama-family decoder as its Hugging Face {@code config.json} describes it. Supported
 * architectures: {@code LlamaForCausalLM} (Llama 2 and 3, with {@code rope_scaling} absent, null or of type
 * {@code llama3}), {@code MistralForCausalLM} (with its optional {@code sliding_window}) and
 * {@code Qwen2ForCausalLM} (biases on q, k and v). Everything else is refused with a
 * {@link ThanosjException} naming the architecture (or option) and the file.
 *
 * @param architecture          the {@code architectures[0]} entry, e.g. {@code LlamaForCausalLM}
 * @param hiddenSize            width of the residual stream
 * @param intermediateSize      width of the SwiGLU MLP
 * @param numHiddenLayers       decoder blocks
 * @param numAttentionHeads     query heads
 * @param numKeyValueHeads      key/value heads (grouped-query attention; equal to the query heads for MHA)
 * @param headDim               width of one head ({@code head_dim}, default {@code hidden_size / heads})
 * @param rmsNormEps            epsilon of every RMSNorm
 * @param ropeTheta             base of the rotary frequencies
 * @param ropeScaling           the {@code llama3} frequency scaling, or null for none
 * @param maxPositionEmbeddings the longest sequence the model was trained for
 * @param vocabSize             rows of the embedding and of the LM head
 * @param tieWordEmbeddings     whether the LM head is the embedding matrix
 * @param torchDtype            the {@code torch_dtype} (or {@code dtype}) entry, e.g. {@code bfloat16}; null when absent
 * @param qkvBias               whether q, k and v projections have biases (Qwen2)
 * @param slidingWindow         attention window of Mistral (a token sees itself and the {@code w - 1} before it);
 *                              0 for full causal attention
 */
public record LlamaConfig(String architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, double rmsNormEps,
                          double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings, int vocabSize,
                          boolean tieWordEmbeddings, String torchDtype, boolean qkvBias, int slidingWindow) {

    /** The file name of the configuration in a model folder. */
    public static final String FILE = "config.json";
    /** The architectures this package runs. */
    public static final List<String> ARCHITECTURES = List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM");
    /** The calibration and evaluation window of the reference repositories (capped by the model's maximum). */
    public static final int DEFAULT_SEQ_LEN = 2048;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /**
     * Llama 3's rotary frequency scaling ({@code rope_scaling.rope_type == "llama3"}): low frequencies are
     * divided by {@code factor}, high ones kept, and the band between interpolated smoothly.
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
        public RopeScaling {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)
                    || originalMaxPositionEmbeddings < 1) {
                throw new IllegalArgumentException("llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < "
                        + "high_freq_factor and original_max_position_embeddings >= 1; got factor " + factor
                        + ", low_freq_factor " + lowFreqFactor + ", high_freq_factor " + highFreqFactor
                        + ", original_max_position_embeddings " + originalMaxPositionEmbeddings);
            }
        }
    }

    public LlamaConfig {
        if (hiddenSize < 1 || intermediateSize < 1 || numHiddenLayers < 1 || numAttentionHeads < 1
                || numKeyValueHeads < 1 || headDim < 1 || maxPositionEmbeddings < 1 || vocabSize < 1) {
            throw new IllegalArgumentException("every size must be positive");
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim " + headDim + " is odd; rotary embeddings rotate pairs");
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException("rms_norm_eps and rope_theta must be positive");
        }
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding_window must be positive");
        }
    }

    /** Reads {@code config.json} of model folder {@code directory}; errors name the file. */
    public static LlamaConfig read(Path directory) {
        Path file = directory.resolve(FILE);
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ThanosjException(directory + ": has no " + FILE + "; not a Hugging Face model folder", e);
        } catch (IOException e) {
            throw new ThanosjException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses the text of a {@code config.json}; {@code source} names it in error messages. */
    public static LlamaConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new ThanosjException(source + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new ThanosjException(source + ": not a JSON object");
        }
        Fields f = new Fields(root, source);
        String architecture = architecture(f);
        int hidden = f.positiveInt("hidden_size");
        int heads = f.positiveInt("num_attention_heads");
        int kvHeads = f.has("num_key_value_heads") ? f.positiveInt("num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw new ThanosjException(source + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim;
        if (f.has("head_dim")) {
            headDim = f.positiveInt("head_dim");
        } else if (hidden % heads == 0) {
            headDim = hidden / heads;
        } else {
            throw new ThanosjException(source + ": hidden_size " + hidden + " is not a multiple of num_attention_heads "
                    + heads + " and there is no head_dim");
        }
        if (headDim % 2 != 0) {
            throw new ThanosjException(source + ": head_dim " + headDim + " is odd; rotary embeddings rotate pairs");
        }
        String act = f.has("hidden_act") ? f.text("hidden_act") : "silu";
        if (!act.equals("silu")) {
            throw new ThanosjException(source + ": hidden_act '" + act + "' is not supported (only silu, the SwiGLU of "
                    + String.join(", ", ARCHITECTURES) + ")");
        }
        boolean qwen = architecture.equals("Qwen2ForCausalLM");
        if (!qwen) {
            for (String flag : List.of("attention_bias", "mlp_bias")) {
                if (f.flag(flag, false)) {
                    throw new ThanosjException(source + ": " + flag + " true is not supported for " + architecture);
                }
            }
        }
        int slidingWindow = 0;
        if (architecture.equals("MistralForCausalLM") && f.has("sliding_window")) {
            slidingWindow = f.positiveInt("sliding_window");
        }
        if (qwen && f.flag("use_sliding_window", false)) {
            throw new ThanosjException(source + ": use_sliding_window true is not supported for Qwen2ForCausalLM");
        }
        String dtype = f.has("torch_dtype") ? f.text("torch_dtype") : f.has("dtype") ? f.text("dtype") : null;
        try {
            return new LlamaConfig(architecture, hidden, f.positiveInt("intermediate_size"),
                    f.positiveInt("num_hidden_layers"), heads, kvHeads, headDim,
                    f.has("rms_norm_eps") ? f.positiveDouble("rms_norm_eps") : 1e-6,
                    f.has("rope_theta") ? f.positiveDouble("rope_theta") : 10000.0,
                    ropeScaling(f), f.positiveInt("max_position_embeddings"), f.positiveInt("vocab_size"),
                    f.flag("tie_word_embeddings", false), dtype, qwen, slidingWindow);
        } catch (IllegalArgumentException e) {
            throw new ThanosjException(source + ": " + e.getMessage(), e);
        }
    }

    private static String architecture(Fields f) {
        JsonNode archs = f.root.get("architectures");
        if (archs == null || archs.isNull()) {
            throw new ThanosjException(f.source + ": has no \"architectures\" entry; supported: "
                    + String.join(", ", ARCHITECTURES));
        }
        if (!archs.isArray() || archs.size() != 1 || !archs.get(0).isTextual()) {
            throw new ThanosjException(f.source + ": \"architectures\" must list exactly one architecture name, got "
                    + archs);
        }
        String name = archs.get(0).textValue();
        if (!ARCHITECTURES.contains(name)) {
            throw new ThanosjException(f.source + ": architecture '" + name + "' is not supported; supported: "
                    + String.join(", ", ARCHITECTURES));
        }
        return name;
    }

    private static RopeScaling ropeScaling(Fields f) {
        JsonNode node = f.root.get("rope_scaling");
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new ThanosjException(f.source + ": rope_scaling must be an object or null, got " + node);
        }
        Fields s = new Fields(node, f.source + ": rope_scaling");
        String type = s.has("rope_type") ? s.text("rope_type") : s.has("type") ? s.text("type") : "default";
        return switch (type) {
            case "default" -> null;
            case "llama3" -> new RopeScaling(s.positiveDouble("factor"), s.positiveDouble("low_freq_factor"),
                    s.positiveDouble("high_freq_factor"), s.positiveInt("original_max_position_embeddings"));
            default -> throw new ThanosjException(f.source + ": rope_scaling type '" + type
                    + "' is not supported (supported: none, llama3)");
        };
    }

    /** Query width, {@code heads x headDim}. */
    public int qDim() {
        return numAttentionHeads * headDim;
    }

    /** Key and value width, {@code kvHeads x headDim}. */
    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /** Bytes per weight in storage, from {@code torch_dtype}: 4 for float32, else 2 (bfloat16, float16). */
    public int storageBytes() {
        return torchDtype != null && torchDtype.toLowerCase(Locale.ROOT).equals("float32") ? 4 : 2;
    }

    /**
     * The window length to use: {@code min(2048, max_position_embeddings)} when {@code requested} is null;
     * otherwise {@code requested}, which must be in {@code [2, max_position_embeddings]}.
     */
    public int seqLen(Integer requested) {
        if (requested == null) {
            return Math.min(DEFAULT_SEQ_LEN, maxPositionEmbeddings);
        }
        if (requested < 2 || requested > maxPositionEmbeddings) {
            throw new ThanosjException("--seq-len " + requested + " must be in [2, " + maxPositionEmbeddings
                    + "] (max_position_embeddings of this " + architecture + ")");
        }
        return requested;
    }

    /** One line for logs, e.g. {@code LlamaForCausalLM: 32 layers, hidden 4096, 32/8 heads x 128, ...}. */
    public String describe() {
        return architecture + ": " + numHiddenLayers + " layers, hidden " + hiddenSize + ", intermediate "
                + intermediateSize + ", " + numAttentionHeads + "/" + numKeyValueHeads + " heads x " + headDim
                + ", vocabulary " + vocabSize + (tieWordEmbeddings ? " (tied)" : "")
                + (ropeScaling != null ? ", llama3 rope scaling x" + ropeScaling.factor() : "")
                + (slidingWindow > 0 ? ", sliding window " + slidingWindow : "")
                + (torchDtype != null ? ", " + torchDtype : "");
    }

    /** Typed access to the fields of a JSON object, with errors naming the file and the key. */
    private record Fields(JsonNode root, String source) {
        boolean has(String key) {
            JsonNode n = root.get(key);
            return n != null && !n.isNull();
        }

        private JsonNode required(String key) {
            if (!has(key)) {
                throw new ThanosjException(source + ": \"" + key + "\" is missing");
            }
            return root.get(key);
        }

        int positiveInt(String key) {
            JsonNode n = required(key);
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 1) {
                throw new ThanosjException(source + ": \"" + key + "\" must be a positive integer, got " + n);
            }
            return n.intValue();
        }

        double positiveDouble(String key) {
            JsonNode n = required(key);
            if (!n.isNumber() || !(n.doubleValue() > 0) || Double.isInfinite(n.doubleValue())) {
                throw new ThanosjException(source + ": \"" + key + "\" must be a positive number, got " + n);
            }
            return n.doubleValue();
        }

        String text(String key) {
            JsonNode n = required(key);
            if (!n.isTextual()) {
                throw new ThanosjException(source + ": \"" + key + "\" must be a string, got " + n);
            }
            return n.textValue();
        }

        boolean flag(String key, boolean absent) {
            if (!has(key)) {
                return absent;
            }
            JsonNode n = root.get(key);
            if (!n.isBoolean()) {
                throw new ThanosjException(source + ": \"" + key + "\" must be true or false, got " + n);
            }
            return n.booleanValue();
        }
    }
}
