package dev.thanosj.model;

import static dev.thanosj.model.OnnxProto.floatAttribute;
import static dev.thanosj.model.OnnxProto.intAttribute;
import static dev.thanosj.model.OnnxProto.intsAttribute;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thanosj.model.text.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small random BERT written as a real ONNX file, laid out like the PyTorch export of all-MiniLM-L6-v2 that
 * {@code BertEncoder} reads: the same node names ({@code /embeddings/word_embeddings/Gather},
 * {@code /encoder/layer.N/attention/self/query/MatMul}, ...), anonymous {@code onnx::MatMul_N} weights stored
 * {@code [in, out]} as MatMul's B with the bias added after, decomposed LayerNorms with their epsilon in a
 * {@code Constant}, the attention's Reshape to {@code [batch, seq, heads, headDim]} through a
 * {@code Concat} of shape pieces, an exact-erf GELU, the additive attention mask from
 * {@code attention_mask}, and {@code raw_data} FLOAT initializers. {@link Config#asModernExport()} writes the same
 * model as a newer exporter would (opset 17, fused {@code LayerNormalization}, constant reshape shapes).
 * Weights are Gaussian from a seeded {@link SplittableRandom}; the same config gives the same bytes.
 *
 * <p>Its vocabulary is that of {@link #TOKENIZER_RESOURCE}, a WordPiece {@code tokenizer.json} of
 * {@value #TOKENIZER_VOCAB} tokens (BERT's normaliser and pre-tokeniser, letters and digits as word pieces,
 * so any English text tokenizes without many {@code [UNK]}). Test scope only.
 */
public final class TinyBert {
    /** Class-path resource of the tiny WordPiece tokenizer. */
    public static final String TOKENIZER_RESOURCE = "/dev/thanosj/model/tiny-bert-tokenizer.json";
    /** Tokens in {@link #TOKENIZER_RESOURCE}. */
    public static final int TOKENIZER_VOCAB = 144;

    /**
     * What to build.
     *
     * @param layers       encoder layers
     * @param hidden       hidden width
     * @param heads        attention heads
     * @param intermediate feed-forward width
     * @param vocab        rows of the word embedding
     * @param positions    rows of the position embedding
     * @param seed         seed of the weights
     * @param modern       opset 17 with fused LayerNormalization and constant reshape shapes, instead of the
     *                     opset-11 graph of the bundled MiniLM
     */
    public record Config(int layers, int hidden, int heads, int intermediate, int vocab, int positions, long seed,
                         boolean modern) {
        /** 2 layers, hidden 32, 4 heads of 8, FFN 64, the tiny tokenizer's vocabulary, 128 positions. */
        public static Config small(long seed) {
            return new Config(2, 32, 4, 64, TOKENIZER_VOCAB, 128, seed, false);
        }

        /** This model as a newer exporter writes it. */
        public Config asModernExport() {
            return new Config(layers, hidden, heads, intermediate, vocab, positions, seed, true);
        }
    }

    private final Config config;
    private final SplittableRandom random;
    private final List<byte[]> nodes = new ArrayList<>();
    private final List<byte[]> initializers = new ArrayList<>();
    private final Map<String, Integer> names = new HashMap<>();
    private int anonymous = 700;

    private TinyBert(Config config) {
        this.config = config;
        this.random = new SplittableRandom(config.seed());
    }

    /** Writes the model of {@code config} to {@code file}; returns {@code file}. */
    public static Path write(Path file, Config config) {
        try {
            Files.write(file, new TinyBert(config).build());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** Copies the tiny tokenizer's {@code tokenizer.json} to {@code file}; returns {@code file}. */
    public static Path writeTokenizer(Path file) {
        try (InputStream in = TinyBert.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** The tiny tokenizer, truncating to {@code maxLength} tokens. */
    public static Tokenizer tokenizer(int maxLength) {
        return Tokenizer.fromResource(TOKENIZER_RESOURCE, maxLength);
    }

    /** The number of tokens in the tiny tokenizer's vocabulary, read from the resource. */
    public static int tokenizerVocabSize() {
        try (InputStream in = TinyBert.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
            JsonNode root = new ObjectMapper().readTree(in);
            return root.path("model").path("vocab").size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- the graph ----

    private byte[] build() {
        int h = config.hidden();
        String mask = attentionMask();
        String x = embeddings();
        for (int l = 0; l < config.layers(); l++) {
            x = layer(l, x, mask, l == config.layers() - 1 ? "last_hidden_state" : null);
        }
        List<byte[]> inputs = List.of(
                OnnxProto.valueInfo("input_ids", OnnxProto.INT64, "batch_size", "sequence_length"),
                OnnxProto.valueInfo("attention_mask", OnnxProto.INT64, "batch_size", "sequence_length"),
                OnnxProto.valueInfo("token_type_ids", OnnxProto.INT64, "batch_size", "sequence_length"));
        List<byte[]> outputs = List.of(OnnxProto.valueInfo(x, OnnxProto.FLOAT, "batch_size", "sequence_length", h));
        byte[] graph = OnnxProto.graph("main_graph", nodes, initializers, inputs, outputs);
        return config.modern() ? OnnxProto.model(8, 17, graph) : OnnxProto.model(6, 11, graph);
    }

    /** {@code (1 - mask) · lowest float} as {@code [batch, 1, 1, seq]}, added to the attention scores. */
    private String attentionMask() {
        String m = unsqueeze("", "attention_mask", 1);
        m = unsqueeze("", m, 2);
        String cast = op("", "Cast", List.of(m), intAttribute("to", OnnxProto.FLOAT));
        String inverted = op("", "Sub", List.of(floatScalar("", 1f), cast));
        return op("", "Mul", List.of(inverted, floatScalar("", -Float.MAX_VALUE)));
    }

    private String embeddings() {
        int h = config.hidden();
        String word = initializer("embeddings.word_embeddings.weight", gaussian(config.vocab() * h, 1.0, 0), config.vocab(), h);
        String type = initializer("embeddings.token_type_embeddings.weight", gaussian(2 * h, 0.5, 0), 2, h);
        String position = initializer("embeddings.position_embeddings.weight", gaussian(config.positions() * h, 0.5, 0),
                config.positions(), h);
        long[] ids = new long[config.positions()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        initializers.add(OnnxProto.int64Tensor("embeddings.position_ids", new long[] {1, ids.length}, ids));

        String scope = "/embeddings";
        String shape = op(scope, "Shape", List.of("input_ids"));
        String length = op(scope, "Gather", List.of(shape, int64Constant(scope, new long[0], 1)), intAttribute("axis", 0));
        String end = unsqueeze(scope, length, 0);
        String positionIds = op(scope, "Slice", List.of("embeddings.position_ids", int64Constant(scope, new long[] {1}, 0), end,
                int64Constant(scope, new long[] {1}, 1), int64Constant(scope, new long[] {1}, 1)));
        String words = op(scope + "/word_embeddings", "Gather", List.of(word, "input_ids"));
        String types = op(scope + "/token_type_embeddings", "Gather", List.of(type, "token_type_ids"));
        String sum = op(scope, "Add", List.of(words, types));
        String positions = op(scope + "/position_embeddings", "Gather", List.of(position, positionIds));
        sum = op(scope, "Add", List.of(sum, positions));
        return layerNorm(scope + "/LayerNorm", sum, "embeddings.LayerNorm", null);
    }

    private String layer(int l, String x, String mask, String outputName) {
        int h = config.hidden();
        int f = config.intermediate();
        String block = "/encoder/layer." + l;
        String module = "encoder.layer." + l;
        double qk = 1.5 / Math.sqrt(h); // peakier attention than 1/sqrt(h): pruning errors then matter more
        String self = block + "/attention/self";
        String q = linear(self + "/query", x, h, h, module + ".attention.self.query.bias", qk);
        String k = linear(self + "/key", x, h, h, module + ".attention.self.key.bias", qk);
        String keys = op(self, "Transpose", List.of(splitHeads(self, k)), intsAttribute("perm", 0, 2, 3, 1));
        String v = linear(self + "/value", x, h, h, module + ".attention.self.value.bias", 1 / Math.sqrt(h));
        String values = op(self, "Transpose", List.of(splitHeads(self, v)), intsAttribute("perm", 0, 2, 1, 3));
        String queries = op(self, "Transpose", List.of(splitHeads(self, q)), intsAttribute("perm", 0, 2, 1, 3));
        String scores = op(self, "MatMul", List.of(queries, keys));
        scores = op(self, "Div", List.of(scores, floatScalar(self, (float) Math.sqrt(h / config.heads()))));
        scores = op(self, "Add", List.of(scores, mask));
        String probabilities = op(self, "Softmax", List.of(scores), intAttribute("axis", 3));
        String context = op(self, "MatMul", List.of(probabilities, values));
        context = op(self, "Transpose", List.of(context), intsAttribute("perm", 0, 2, 1, 3));
        context = mergeHeads(self, context);

        String attended = linear(block + "/attention/output/dense", context, h, h, module + ".attention.output.dense.bias",
                1 / Math.sqrt(h));
        attended = op(block + "/attention/output", "Add", List.of(attended, x));
        attended = layerNorm(block + "/attention/output/LayerNorm", attended, module + ".attention.output.LayerNorm", null);

        String inner = linear(block + "/intermediate/dense", attended, h, f, module + ".intermediate.dense.bias", 1 / Math.sqrt(h));
        inner = gelu(block + "/intermediate/intermediate_act_fn", inner);
        String out = linear(block + "/output/dense", inner, f, h, module + ".output.dense.bias", 1 / Math.sqrt(f));
        out = op(block + "/output", "Add", List.of(out, attended));
        return layerNorm(block + "/output/LayerNorm", out, module + ".output.LayerNorm", outputName);
    }

    /** {@code X · W + b}: MatMul with an anonymous {@code [in, out]} weight, then Add of the bias (bias first, as exported). */
    private String linear(String scope, String x, int in, int out, String biasName, double std) {
        String w = initializer("onnx::MatMul_" + anonymous++, gaussian(in * out, std, 0), in, out);
        String b = initializer(biasName, gaussian(out, 0.1, 0), out);
        String product = op(scope, "MatMul", List.of(x, w));
        return op(scope, "Add", List.of(b, product));
    }

    /** {@code [batch, seq, hidden]} to {@code [batch, seq, heads, headDim]}. */
    private String splitHeads(String scope, String x) {
        int headDim = config.hidden() / config.heads();
        String shape;
        if (config.modern()) {
            shape = int64Constant(scope, new long[] {4}, 0, 0, config.heads(), headDim);
        } else {
            shape = op(scope, "Concat", List.of(dim(scope, x, 0), dim(scope, x, 1),
                    int64Constant(scope, new long[] {1}, config.heads()), int64Constant(scope, new long[] {1}, headDim)),
                    intAttribute("axis", 0));
        }
        return op(scope, "Reshape", List.of(x, shape));
    }

    /** {@code [batch, seq, heads, headDim]} back to {@code [batch, seq, hidden]}. */
    private String mergeHeads(String scope, String x) {
        String shape;
        if (config.modern()) {
            shape = int64Constant(scope, new long[] {3}, 0, 0, config.hidden());
        } else {
            shape = op(scope, "Concat", List.of(dim(scope, x, 0), dim(scope, x, 1),
                    int64Constant(scope, new long[] {1}, config.hidden())), intAttribute("axis", 0));
        }
        return op(scope, "Reshape", List.of(x, shape));
    }

    /** Dimension {@code axis} of {@code x} as a one-element INT64 tensor: Shape, Gather, Unsqueeze. */
    private String dim(String scope, String x, int axis) {
        String shape = op(scope, "Shape", List.of(x));
        String d = op(scope, "Gather", List.of(shape, int64Constant(scope, new long[0], axis)), intAttribute("axis", 0));
        return unsqueeze(scope, d, 0);
    }

    private String layerNorm(String scope, String x, String module, String outputName) {
        int h = config.hidden();
        String gamma = initializer(module + ".weight", gaussian(h, 0.1, 1), h);
        String beta = initializer(module + ".bias", gaussian(h, 0.1, 0), h);
        if (config.modern()) {
            return op(scope, "LayerNormalization", List.of(x, gamma, beta), outputName, intAttribute("axis", -1),
                    floatAttribute("epsilon", 1e-12f));
        }
        String mean = op(scope, "ReduceMean", List.of(x), intsAttribute("axes", -1));
        String centred = op(scope, "Sub", List.of(x, mean));
        String squares = op(scope, "Pow", List.of(centred, floatScalar(scope, 2f)));
        String variance = op(scope, "ReduceMean", List.of(squares), intsAttribute("axes", -1));
        String shifted = op(scope, "Add", List.of(variance, floatScalar(scope, 1e-12f)));
        String deviation = op(scope, "Sqrt", List.of(shifted));
        String normalized = op(scope, "Div", List.of(centred, deviation));
        String scaled = op(scope, "Mul", List.of(normalized, gamma));
        return op(scope, "Add", List.of(scaled, beta), outputName);
    }

    /** The exact GELU as PyTorch exports it: {@code x · (erf(x / √2) + 1) · 0.5}. */
    private String gelu(String scope, String x) {
        String e = op(scope, "Div", List.of(x, floatScalar(scope, (float) Math.sqrt(2))));
        e = op(scope, "Erf", List.of(e));
        e = op(scope, "Add", List.of(e, floatScalar(scope, 1f)));
        e = op(scope, "Mul", List.of(x, e));
        return op(scope, "Mul", List.of(e, floatScalar(scope, 0.5f)));
    }

    // ---- nodes and tensors ----

    /** A node {@code scope/OpType[_n]} (numbered like PyTorch's exporter) with one output {@code <name>_output_0}. */
    private String op(String scope, String opType, List<String> inputs, byte[]... attributes) {
        return op(scope, opType, inputs, null, attributes);
    }

    /** As {@link #op(String, String, List, byte[]...)}, with the output named {@code outputName} unless null. */
    private String op(String scope, String opType, List<String> inputs, String outputName, byte[]... attributes) {
        String base = scope + "/" + opType;
        int n = names.merge(base, 1, Integer::sum) - 1;
        String name = n == 0 ? base : base + "_" + n;
        String output = outputName != null ? outputName : name + "_output_0";
        nodes.add(OnnxProto.node(name, opType, inputs, List.of(output), attributes));
        return output;
    }

    /** Unsqueeze at {@code axis}: an attribute up to opset 12, an input from opset 13. */
    private String unsqueeze(String scope, String x, long axis) {
        if (config.modern()) {
            return op(scope, "Unsqueeze", List.of(x, int64Constant(scope, new long[] {1}, axis)));
        }
        return op(scope, "Unsqueeze", List.of(x), intsAttribute("axes", axis));
    }

    private String floatScalar(String scope, float value) {
        return op(scope, "Constant", List.of(), OnnxProto.tensorAttribute("value", OnnxProto.floatTensor("", new long[0], value)));
    }

    private String int64Constant(String scope, long[] dims, long... values) {
        return op(scope, "Constant", List.of(), OnnxProto.tensorAttribute("value", OnnxProto.int64Tensor("", dims, values)));
    }

    private String initializer(String name, float[] values, long... dims) {
        initializers.add(OnnxProto.floatTensor(name, dims, values));
        return name;
    }

    private float[] gaussian(int n, double std, double mean) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        return values;
    }
}
