package dev.thanosj.model.bert;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.kernels.Activations;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.onnx.OnnxNode;
import dev.thanosj.model.onnx.OnnxTensor;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A BERT encoder (post-LayerNorm, as in BERT and sentence-transformers' MiniLM) computed in Java from an
 * ONNX export's weights: word + position + token-type embeddings and LayerNorm, then per layer masked
 * multi-head self-attention, output projection, residual, LayerNorm, feed-forward with the exact (erf) GELU,
 * residual, LayerNorm. Linears are {@code Y = X · W + b} with W used as stored, {@code [in, out]}, through
 * {@link Linalg#gemm}.
 *
 * <p>Activations are packed: a {@link TokenBatch} of sequences with different lengths is a
 * {@code totalTokens x hidden} matrix with no padding rows; attention runs per sequence over its own tokens,
 * which is exactly BERT's attention mask for right padding. Every matrix handed to or returned by this class
 * lives off-heap; matrices passed in must live in a shared arena ({@link Arena#ofShared()}) because worker
 * threads read and write them. A layer runs over chunks of at most {@value #CHUNK_TOKENS} tokens (or one
 * longer sequence) at a time; its temporaries, sized for the largest chunk, are allocated once per layer call
 * (once per {@link #forward} for all layers) in an arena closed when the call ends.
 *
 * <p>The work besides the GEMMs (GELU, the attention's softmax, LayerNorm) runs on the float32 kernels of
 * {@link Activations} (Vector API where available): erf within 1e-7, exp within 1 ulp. Attention runs per
 * sequence (or per group of heads) on the worker pool, both of its products through the BLAS.
 *
 * <p>The structure is found through the graph: the Linears through their MatMul nodes
 * ({@link OnnxModel#linears()}), the embedding tables through their Gather nodes, each LayerNorm's scale,
 * shift and epsilon through the nodes of its scope ({@code .../LayerNorm/...}, decomposed or a fused
 * {@code LayerNormalization}), the number of heads through the attention's Reshape to
 * {@code [batch, seq, heads, headDim]}. The bundled MiniLM: 6 layers, hidden 384, 12 heads of 32, FFN 1536,
 * LayerNorm epsilon 1e-12.
 */
public final class BertEncoder implements AutoCloseable {
    /** The model file's own weights for every Linear: use as the {@code weights} argument for the dense model. */
    public static final Function<OnnxLinear, FloatMatrix> DENSE = linear -> null;

    /** Roles of a layer's Linears in computation order. */
    public static final List<String> ROLES = List.of("query", "key", "value", "attention.output", "intermediate", "output");

    /** Most tokens per chunk of a layer call (whole sequences; a longer sequence is a chunk of its own). */
    static final int CHUNK_TOKENS = 2048;

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private final OnnxModel model;
    private final Arena arena = Arena.ofShared();
    private final BertConfig config;
    private final MemorySegment wordEmbeddings;
    /** Row {@code type · maxPositions + position}: that position's embedding plus that token type's. */
    private final FloatMatrix positionAndType;
    private final Norm embeddingNorm;
    private final List<Layer> layers;
    private final Activations activations = Activations.get();

    /** LayerNorm parameters: {@code y = (x - mean) / sqrt(var + eps) · gamma + beta}. */
    private record Norm(FloatMatrix gamma, FloatMatrix beta, float eps) {
    }

    /** One encoder layer: its Linears (in {@link #ROLES} order), their biases (null when absent) and norms. */
    private record Layer(List<OnnxLinear> linears, List<FloatMatrix> biases, Norm attentionNorm, Norm outputNorm) {
    }

    private BertEncoder(OnnxModel model) {
        this.model = model;
        OnnxTensor word = embeddingTable("word_embeddings");
        OnnxTensor position = embeddingTable("position_embeddings");
        OnnxTensor type = embeddingTable("token_type_embeddings");
        int hidden = word.dim(1);
        if (position.dim(1) != hidden || type.dim(1) != hidden) {
            throw notBert("embedding widths differ: words " + word.shape() + ", positions " + position.shape()
                    + ", token types " + type.shape());
        }
        Map<Integer, Map<String, OnnxLinear>> byLayer = new TreeMap<>();
        for (OnnxLinear linear : model.linears()) {
            byLayer.computeIfAbsent(linear.layer(), k -> new LinkedHashMap<>()).put(linear.role(), linear);
        }
        if (byLayer.isEmpty()) {
            throw notBert("no encoder Linears (MatMul nodes named .../layer.N/attention/self/query/MatMul and so on, "
                    + "with a FLOAT initializer as their B input)");
        }
        int intermediate = -1;
        List<Layer> found = new ArrayList<>();
        for (int l = 0; l < byLayer.size(); l++) {
            Map<String, OnnxLinear> roles = byLayer.get(l);
            if (roles == null) {
                throw notBert("encoder layers are not numbered 0.." + (byLayer.size() - 1) + ": found " + byLayer.keySet());
            }
            List<OnnxLinear> linears = new ArrayList<>();
            for (String role : ROLES) {
                OnnxLinear linear = roles.get(role);
                if (linear == null) {
                    throw notBert("layer " + l + " has no '" + role + "' Linear (found " + roles.keySet() + ")");
                }
                linears.add(linear);
            }
            if (intermediate < 0) {
                intermediate = linears.get(4).outFeatures();
            }
            int[][] shapes = {{hidden, hidden}, {hidden, hidden}, {hidden, hidden}, {hidden, hidden},
                    {hidden, intermediate}, {intermediate, hidden}};
            List<FloatMatrix> biases = new ArrayList<>();
            for (int i = 0; i < ROLES.size(); i++) {
                OnnxLinear linear = linears.get(i);
                if (linear.inFeatures() != shapes[i][0] || linear.outFeatures() != shapes[i][1]) {
                    throw notBert(linear.label() + " weight '" + linear.weight().name() + "' is " + linear.weight().shape()
                            + ", expected [" + shapes[i][0] + ", " + shapes[i][1] + "]");
                }
                biases.add(linear.bias() == null ? null : model.readMatrix(linear.bias(), arena));
            }
            String block = blockScope(linears.getFirst());
            found.add(new Layer(List.copyOf(linears), Collections.unmodifiableList(biases),
                    norm(block + "/attention/output/LayerNorm", hidden), norm(block + "/output/LayerNorm", hidden)));
        }
        this.layers = List.copyOf(found);
        this.embeddingNorm = norm(embeddingNormScope(), hidden);
        int heads = heads(blockScope(layers.getFirst().linears().getFirst()) + "/attention/self", hidden);
        this.config = new BertConfig(layers.size(), hidden, heads, intermediate, word.dim(0), position.dim(0), type.dim(0));
        this.wordEmbeddings = model.data(word);
        this.positionAndType = positionAndType(model.data(position), model.data(type));
    }

    /**
     * The BERT encoder of {@code model} (which must stay open while this is used).
     *
     * @throws ThanosjException naming the file when the graph is not a BERT encoder laid out as expected
     */
    public static BertEncoder of(OnnxModel model) {
        return new BertEncoder(model);
    }

    /** The sizes read from the model. */
    public BertConfig config() {
        return config;
    }

    /** The model this encoder reads. */
    public OnnxModel model() {
        return model;
    }

    /** The Linears of layer {@code layer}, in {@link #ROLES} order. */
    public List<OnnxLinear> linears(int layer) {
        Objects.checkIndex(layer, layers.size());
        return layers.get(layer).linears();
    }

    /** Every prunable Linear, layer by layer, in {@link #ROLES} order. */
    public List<OnnxLinear> linears() {
        return layers.stream().flatMap(l -> l.linears().stream()).toList();
    }

    /** A float32 copy of the model file's weight of {@code linear}, {@code [in, out]}, in {@code target}. */
    public FloatMatrix readWeight(OnnxLinear linear, Arena target) {
        return model.readMatrix(linear.weight(), target);
    }

    /**
     * The embedding layer's output (word + position + token type, then LayerNorm) for every token of
     * {@code batch}: a new packed {@code totalTokens x hidden} matrix in {@code target} (a shared arena).
     *
     * @throws ThanosjException when a sequence is longer than the model's positions
     */
    public FloatMatrix embed(TokenBatch batch, Arena target) {
        int hidden = config.hidden();
        for (int s = 0; s < batch.size(); s++) {
            if (batch.length(s) > config.maxPositions()) {
                throw new ThanosjException("sequence " + s + " has " + batch.length(s) + " tokens; " + model.fileName()
                        + " accepts at most " + config.maxPositions() + " (use a shorter --seq-len)");
            }
            for (int t = 0; t < batch.length(s); t++) {
                checkToken("token id", batch.id(s, t), config.vocabSize(), s, t);
                checkToken("token-type id", batch.typeId(s, t), config.typeVocabSize(), s, t);
            }
        }
        FloatMatrix out = FloatMatrix.allocate(target, batch.totalTokens(), hidden);
        requireShared(out, "the target arena");
        Workers.parallelFor(batch.size(), s -> {
            for (int t = 0; t < batch.length(s); t++) {
                MemorySegment row = out.row(batch.offset(s) + t);
                long word = (long) batch.id(s, t) * hidden * Float.BYTES;
                MemorySegment.copy(wordEmbeddings, LE_FLOAT, word, row, FLOAT, 0, hidden);
                normalize(row, positionAndType.row(batch.typeId(s, t) * config.maxPositions() + t), embeddingNorm, hidden);
            }
        });
        return out;
    }

    /**
     * Runs encoder layer {@code layer} on {@code hidden} (the packed {@code totalTokens x hidden} states of
     * {@code batch}) and overwrites it with the layer's output; see
     * {@link #layer(int, TokenBatch, FloatMatrix, FloatMatrix, Function, LinearTap)}.
     */
    public void layer(int layer, TokenBatch batch, FloatMatrix hidden, Function<OnnxLinear, FloatMatrix> weights, LinearTap tap) {
        layer(layer, batch, hidden, hidden, weights, tap);
    }

    /**
     * Runs encoder layer {@code layer} on {@code input} (the packed {@code totalTokens x hidden} states of
     * {@code batch}) and writes the layer's output into {@code output}, which may be {@code input} itself
     * (in place) or null (only the taps are wanted: the last Linear and LayerNorm are then skipped).
     * Each Linear's weight comes from {@code weights} ({@code [in, out]}; a null result means the model
     * file's weight, see {@link #DENSE}). {@code tap}, when not null, sees every Linear's input before that
     * Linear is applied. For sequential pruning: call once with the taps and {@code output = null}, prune,
     * then once with the pruned weights and {@code output = input}.
     */
    public void layer(int layer, TokenBatch batch, FloatMatrix input, FloatMatrix output,
            Function<OnnxLinear, FloatMatrix> weights, LinearTap tap) {
        Objects.checkIndex(layer, layers.size());
        requireStates(batch, input);
        if (output != null) {
            requireStates(batch, output);
        }
        try (Arena call = Arena.ofShared()) {
            int[] chunks = chunks(batch);
            runLayer(layer, batch, chunks, input, output, weights, tap, Workspace.allocate(call, maxChunkTokens(batch, chunks), config), call);
        }
    }

    /**
     * Layer {@code layer} over every chunk of {@code batch} (the sequence boundaries {@code chunks}), with the
     * temporaries in {@code workspace} and the model file's weights, when asked for, read into {@code call}.
     */
    private void runLayer(int layer, TokenBatch batch, int[] chunks, FloatMatrix input, FloatMatrix output,
            Function<OnnxLinear, FloatMatrix> weights, LinearTap tap, Workspace workspace, Arena call) {
        Layer spec = layers.get(layer);
        List<FloatMatrix> w = new ArrayList<>();
        for (OnnxLinear linear : spec.linears()) {
            FloatMatrix given = weights.apply(linear);
            if (given == null) {
                given = readWeight(linear, call);
            } else if (given.rows() != linear.inFeatures() || given.cols() != linear.outFeatures()) {
                throw new IllegalArgumentException("weight for " + linear.label() + " is " + given.shape()
                        + ", expected " + linear.inFeatures() + "x" + linear.outFeatures() + " ([in, out])");
            }
            w.add(given);
        }
        for (int c = 0; c + 1 < chunks.length; c++) {
            int s0 = chunks[c];
            int s1 = chunks[c + 1];
            int r0 = batch.offset(s0);
            int r1 = batch.offset(s1);
            layerChunk(spec, w, batch, s0, s1, input.rows(r0, r1), output == null ? null : output.rows(r0, r1), tap,
                    workspace.rows(r1 - r0));
        }
    }

    /**
     * Sequence boundaries of the chunks of {@code batch}: chunk c is sequences {@code [chunks[c], chunks[c+1])},
     * as many whole sequences as fit in {@value #CHUNK_TOKENS} tokens (a longer sequence alone).
     */
    private static int[] chunks(TokenBatch batch) {
        List<Integer> bounds = new ArrayList<>();
        int s0 = 0;
        bounds.add(0);
        while (s0 < batch.size()) {
            int s1 = s0 + 1;
            while (s1 < batch.size() && batch.offset(s1 + 1) - batch.offset(s0) <= CHUNK_TOKENS) {
                s1++;
            }
            bounds.add(s1);
            s0 = s1;
        }
        return bounds.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int maxChunkTokens(TokenBatch batch, int[] chunks) {
        int most = 0;
        for (int c = 0; c + 1 < chunks.length; c++) {
            most = Math.max(most, batch.offset(chunks[c + 1]) - batch.offset(chunks[c]));
        }
        return most;
    }

    /**
     * The full forward pass: {@code last_hidden_state} for every token of {@code batch}, packed
     * {@code totalTokens x hidden}, new in {@code target} (a shared arena), with Linear weights from
     * {@code weights} (see {@link #layer}).
     */
    public FloatMatrix forward(TokenBatch batch, Arena target, Function<OnnxLinear, FloatMatrix> weights) {
        FloatMatrix hidden = embed(batch, target);
        int[] chunks = chunks(batch);
        try (Arena call = Arena.ofShared()) {
            Workspace workspace = Workspace.allocate(call, maxChunkTokens(batch, chunks), config);
            for (int l = 0; l < layers.size(); l++) {
                try (Arena weightsArena = Arena.ofShared()) {
                    runLayer(l, batch, chunks, hidden, hidden, weights, null, workspace, weightsArena);
                }
            }
        }
        return hidden;
    }

    /** {@link #forward(TokenBatch, Arena, Function)} with the model file's weights. */
    public FloatMatrix forward(TokenBatch batch, Arena target) {
        return forward(batch, target, DENSE);
    }

    /**
     * Sentence embeddings as sentence-transformers computes them: the forward pass, the mean over each
     * sequence's tokens, L2-normalised; a new {@code batch.size() x hidden} matrix in {@code target}.
     */
    public FloatMatrix sentenceEmbeddings(TokenBatch batch, Arena target, Function<OnnxLinear, FloatMatrix> weights) {
        try (Arena states = Arena.ofShared()) {
            return meanPool(batch, forward(batch, states, weights), target);
        }
    }

    /**
     * The mean of each sequence's rows of the packed {@code hidden}, L2-normalised (a zero mean stays zero):
     * a new {@code batch.size() x hidden.cols()} matrix in {@code target}.
     */
    public static FloatMatrix meanPool(TokenBatch batch, FloatMatrix hidden, Arena target) {
        if (hidden.rows() != batch.totalTokens()) {
            throw new IllegalArgumentException("hidden states have " + hidden.rows() + " rows, the batch " + batch.totalTokens() + " tokens");
        }
        int width = hidden.cols();
        FloatMatrix out = FloatMatrix.allocate(target, batch.size(), width);
        double[] sum = new double[width]; // one row of scratch
        for (int s = 0; s < batch.size(); s++) {
            Arrays.fill(sum, 0);
            for (int t = 0; t < batch.length(s); t++) {
                MemorySegment row = hidden.row(batch.offset(s) + t);
                for (int c = 0; c < width; c++) {
                    sum[c] += row.getAtIndex(FLOAT, c);
                }
            }
            double norm = 0;
            for (int c = 0; c < width; c++) {
                sum[c] /= batch.length(s);
                norm += sum[c] * sum[c];
            }
            double scale = norm > 0 ? 1.0 / Math.sqrt(norm) : 0.0;
            for (int c = 0; c < width; c++) {
                out.set(s, c, (float) (sum[c] * scale));
            }
        }
        return out;
    }

    /** The sum of every position's and every token type's embedding (see {@link #positionAndType}), in the encoder's arena. */
    private FloatMatrix positionAndType(MemorySegment positions, MemorySegment types) {
        int hidden = config.hidden();
        int maxPositions = config.maxPositions();
        FloatMatrix sums = FloatMatrix.allocate(arena, config.typeVocabSize() * maxPositions, hidden);
        for (int type = 0; type < config.typeVocabSize(); type++) {
            for (int t = 0; t < maxPositions; t++) {
                MemorySegment row = sums.row(type * maxPositions + t);
                for (int c = 0; c < hidden; c++) {
                    long at = (long) c * Float.BYTES;
                    float sum = types.get(LE_FLOAT, (long) type * hidden * Float.BYTES + at)
                            + positions.get(LE_FLOAT, (long) t * hidden * Float.BYTES + at);
                    row.setAtIndex(FLOAT, c, sum);
                }
            }
        }
        return sums;
    }

    /** Frees the biases and LayerNorm parameters; the model stays open (its owner closes it). */
    @Override
    public void close() {
        arena.close();
    }

    // ---- one chunk of a layer ----

    /**
     * The temporaries of one chunk: Q, K, V, the attention context ({@code tokens x hidden}) and the
     * feed-forward's inner activations ({@code tokens x intermediate}); allocated once per layer call (once per
     * forward pass) for the largest chunk, every chunk uses its first rows.
     */
    private record Workspace(FloatMatrix q, FloatMatrix k, FloatMatrix v, FloatMatrix context, FloatMatrix inner) {
        static Workspace allocate(Arena arena, int tokens, BertConfig config) {
            int rows = Math.max(tokens, 1);
            return new Workspace(FloatMatrix.allocate(arena, rows, config.hidden()), FloatMatrix.allocate(arena, rows, config.hidden()),
                    FloatMatrix.allocate(arena, rows, config.hidden()), FloatMatrix.allocate(arena, rows, config.hidden()),
                    FloatMatrix.allocate(arena, rows, config.intermediate()));
        }

        /** The first {@code n} rows of every temporary. */
        Workspace rows(int n) {
            return new Workspace(q.rows(0, n), k.rows(0, n), v.rows(0, n), context.rows(0, n), inner.rows(0, n));
        }
    }

    /** One chunk of sequences {@code [s0, s1)}: rows {@code x} in, rows {@code y} out (skipped when null). */
    private void layerChunk(Layer spec, List<FloatMatrix> w, TokenBatch batch, int s0, int s1, FloatMatrix x,
            FloatMatrix y, LinearTap tap, Workspace workspace) {
        List<OnnxLinear> linears = spec.linears();
        FloatMatrix q = workspace.q();
        FloatMatrix k = workspace.k();
        FloatMatrix v = workspace.v();
        tap(tap, linears.get(0), x);
        linear(x, w.get(0), spec.biases().get(0), q);
        tap(tap, linears.get(1), x);
        linear(x, w.get(1), spec.biases().get(1), k);
        tap(tap, linears.get(2), x);
        linear(x, w.get(2), spec.biases().get(2), v);

        FloatMatrix context = workspace.context();
        attention(q, k, v, context, batch, s0, s1);
        tap(tap, linears.get(3), context);
        FloatMatrix attended = q; // q is no longer needed: reuse its memory for the attention block's output
        linear(context, w.get(3), spec.biases().get(3), attended);
        addAndNormalize(attended, x, spec.attentionNorm());

        FloatMatrix inner = workspace.inner();
        tap(tap, linears.get(4), attended);
        linear(attended, w.get(4), spec.biases().get(4), inner);
        gelu(inner);
        tap(tap, linears.get(5), inner);
        if (y == null) {
            return;
        }
        FloatMatrix out = k; // k is no longer needed either
        linear(inner, w.get(5), spec.biases().get(5), out);
        addAndNormalize(out, attended, spec.outputNorm());
        y.copyFrom(out);
    }

    private static void tap(LinearTap tap, OnnxLinear linear, FloatMatrix inputs) {
        if (tap != null) {
            tap.accept(linear, inputs);
        }
    }

    /** {@code y = x · w + b} (b broadcast over rows; none when null), into {@code y}. */
    private static void linear(FloatMatrix x, FloatMatrix w, FloatMatrix bias, FloatMatrix y) {
        if (bias == null) {
            Linalg.get().gemm(false, false, 1f, x, w, 0f, y);
            return;
        }
        MemorySegment b = bias.row(0);
        for (int r = 0; r < y.rows(); r++) {
            y.row(r).copyFrom(b);
        }
        Linalg.get().gemm(false, false, 1f, x, w, 1f, y);
    }

    /**
     * Scaled dot-product attention of every sequence {@code [s0, s1)} over its own tokens, head by head:
     * {@code context_h = softmax(Q_h K_hᵀ / sqrt(d)) V_h}, both products through the BLAS on strided views of
     * Q, K, V and the context. Tasks run on the worker pool with the BLAS single-threaded: one per sequence,
     * or per (sequence, group of heads) when there are too few sequences to keep every worker busy; each
     * task has one scores scratch ({@code len x len}) for its heads.
     */
    private void attention(FloatMatrix q, FloatMatrix k, FloatMatrix v, FloatMatrix context, TokenBatch batch, int s0, int s1) {
        int heads = config.heads();
        int d = config.headDim();
        int base = batch.offset(s0);
        float scale = (float) (1.0 / Math.sqrt(d));
        int sequences = s1 - s0;
        int groups = Math.min(heads, Math.ceilDiv(2 * Workers.threads(), sequences));
        int perGroup = Math.ceilDiv(heads, groups);
        Linalg linalg = Linalg.get();
        linalg.parallelFor(sequences * groups, task -> {
            int s = s0 + task / groups;
            int h0 = task % groups * perGroup;
            int h1 = Math.min(heads, h0 + perGroup);
            int r0 = batch.offset(s) - base;
            int len = batch.length(s);
            try (Arena scratch = Arena.ofConfined()) {
                FloatMatrix scores = FloatMatrix.allocate(scratch, len, len);
                for (int h = h0; h < h1; h++) {
                    linalg.gemm(false, true, scale, q.view(r0, h * d, len, d), k.view(r0, h * d, len, d), 0f, scores);
                    for (int r = 0; r < len; r++) {
                        activations.softmax(scores.row(r), len);
                    }
                    linalg.gemm(false, false, 1f, scores, v.view(r0, h * d, len, d), 0f, context.view(r0, h * d, len, d));
                }
            }
        });
    }

    /** {@code y = LayerNorm(y + residual)}, row by row, in place. */
    private void addAndNormalize(FloatMatrix y, FloatMatrix residual, Norm norm) {
        int width = y.cols();
        Workers.parallelFor(y.rows(), r -> normalize(y.row(r), residual.row(r), norm, width));
    }

    /** {@code row = LayerNorm(row + residual)} (no residual when null), in place. */
    private void normalize(MemorySegment row, MemorySegment residual, Norm norm, int width) {
        activations.layerNorm(row, residual, norm.gamma().row(0), norm.beta().row(0), norm.eps(), width);
    }

    /** The exact GELU of every element, in place. */
    private void gelu(FloatMatrix m) {
        int width = m.cols();
        Workers.parallelFor(m.rows(), r -> activations.gelu(m.row(r), width));
    }

    // ---- checks ----

    private void requireStates(TokenBatch batch, FloatMatrix hidden) {
        if (hidden.rows() != batch.totalTokens() || hidden.cols() != config.hidden()) {
            throw new IllegalArgumentException("hidden states are " + hidden.shape() + ", expected " + batch.totalTokens()
                    + "x" + config.hidden() + " (the batch's tokens x hidden)");
        }
        requireShared(hidden, "hidden states");
    }

    /** Worker threads read and write activations: a confined arena's memory would fail there, so fail here. */
    private static void requireShared(FloatMatrix m, String what) {
        if (!m.segment().isAccessibleBy(new Thread(() -> { }))) {
            throw new IllegalArgumentException(what + " must live in a shared arena (Arena.ofShared()): worker threads use them");
        }
    }

    private void checkToken(String what, int id, int limit, int s, int t) {
        if (id < 0 || id >= limit) {
            throw new IllegalArgumentException(what + " " + id + " at sequence " + s + ", token " + t + " is outside [0, "
                    + limit + ") of " + model.fileName());
        }
    }

    // ---- graph discovery ----

    private ThanosjException notBert(String why) {
        return new ThanosjException(model.fileName() + " is not a BERT encoder this library can run: " + why);
    }

    /** The 2-D FLOAT initializer gathered by the Gather node whose name mentions {@code module}. */
    private OnnxTensor embeddingTable(String module) {
        for (OnnxNode node : model.nodes()) {
            if (node.opType().equals("Gather") && node.name().contains("/" + module + "/")) {
                OnnxTensor table = model.initializer(node.input(0));
                if (table != null && table.dataType() == OnnxTensor.FLOAT && table.rank() == 2 && table.hasBytes()) {
                    return table;
                }
            }
        }
        throw notBert("no " + module + " table (a Gather node named .../" + module + "/Gather reading a FLOAT initializer)");
    }

    /** {@code /encoder/layer.N} from a Linear's node name {@code /encoder/layer.N/attention/self/query/MatMul}. */
    private static String blockScope(OnnxLinear linear) {
        String marker = "/layer." + linear.layer() + "/";
        String name = linear.nodeName();
        return name.substring(0, name.indexOf(marker) + marker.length() - 1);
    }

    private String embeddingNormScope() {
        for (OnnxNode node : model.nodes()) {
            int at = node.name().indexOf("embeddings/LayerNorm");
            if (at >= 0) {
                return node.name().substring(0, at + "embeddings/LayerNorm".length());
            }
        }
        throw notBert("no embeddings LayerNorm (nodes named .../embeddings/LayerNorm/...)");
    }

    /** The LayerNorm whose nodes lie in {@code scope}: fused {@code LayerNormalization} or decomposed. */
    private Norm norm(String scope, int width) {
        List<OnnxNode> nodes = model.nodesInScope(scope);
        for (OnnxNode node : nodes) {
            if (node.opType().equals("LayerNormalization")) {
                float eps = node.attribute("epsilon").map(a -> a.f()).orElse(1e-5f);
                return new Norm(vector(node.input(1), width, scope), vector(node.input(2), width, scope), eps);
            }
        }
        String gamma = null;
        String beta = null;
        Float eps = null;
        for (OnnxNode node : nodes) {
            for (String in : node.inputs()) {
                OnnxTensor c = model.constant(in);
                if (c == null || c.dataType() != OnnxTensor.FLOAT || !c.hasBytes()) {
                    continue;
                }
                boolean isVector = c.rank() == 1 && c.dim(0) == width;
                if (node.opType().equals("Mul") && isVector) {
                    gamma = in;
                } else if (node.opType().equals("Add") && isVector) {
                    beta = in;
                } else if (node.opType().equals("Add") && c.elementCount() == 1) {
                    eps = (float) model.scalar(c);
                }
            }
        }
        if (gamma == null || beta == null || eps == null) {
            throw notBert("the LayerNorm " + scope + " has no " + (gamma == null ? "scale (Mul by a [" + width + "] initializer)"
                    : beta == null ? "shift (Add of a [" + width + "] initializer)" : "epsilon (Add of a scalar constant)"));
        }
        return new Norm(vector(gamma, width, scope), vector(beta, width, scope), eps);
    }

    private FloatMatrix vector(String name, int width, String scope) {
        OnnxTensor t = model.constant(name);
        if (t == null || t.dataType() != OnnxTensor.FLOAT || t.elementCount() != width) {
            throw notBert("the LayerNorm " + scope + " parameter '" + name + "' is not a FLOAT [" + width + "] constant");
        }
        return model.readMatrix(t, arena);
    }

    /**
     * The number of heads: the attention reshapes Q, K, V to {@code [batch, seq, heads, headDim]}; the shape
     * is a constant or a Concat whose last two inputs are constants, and {@code heads · headDim = hidden}.
     */
    private int heads(String scope, int hidden) {
        for (OnnxNode node : model.nodesInScope(scope)) {
            if (!node.opType().equals("Reshape")) {
                continue;
            }
            long[] shape = null;
            OnnxTensor constant = model.constant(node.input(1));
            OnnxNode producer = model.producer(node.input(1));
            if (constant != null && constant.dataType() == OnnxTensor.INT64 && constant.elementCount() == 4 && constant.hasBytes()) {
                shape = model.int64Values(constant);
            } else if (producer != null && producer.opType().equals("Concat") && producer.inputs().size() == 4) {
                OnnxTensor h = model.constant(producer.input(2));
                OnnxTensor d = model.constant(producer.input(3));
                if (isInt64Scalar(h) && isInt64Scalar(d)) {
                    shape = new long[] {0, 0, model.int64Values(h)[0], model.int64Values(d)[0]};
                }
            }
            if (shape != null && shape[2] > 0 && shape[3] > 0 && shape[2] * shape[3] == hidden) {
                return Math.toIntExact(shape[2]);
            }
        }
        throw notBert("cannot find the number of attention heads (a Reshape to [batch, seq, heads, headDim] in " + scope + ")");
    }

    private static boolean isInt64Scalar(OnnxTensor t) {
        return t != null && t.dataType() == OnnxTensor.INT64 && t.elementCount() == 1 && t.hasBytes();
    }
}
