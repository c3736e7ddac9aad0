package dev.thanosj.model.llama;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.model.pipeline.SequentialModel;
import dev.thanosj.model.safetensors.SafetensorsModel;
import dev.thanosj.model.safetensors.SafetensorsWriter;
import dev.thanosj.model.safetensors.TensorInfo;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * A Llama-family checkpoint in a Hugging Face folder ({@code config.json} and safetensors weights, single
 * file or sharded), memory-mapped read-only. Every tensor the forward pass needs is checked (present, shape
 * from the config, a float dtype) when the model is opened. The prunable linears of block {@code N} are
 * {@code model.layers.N.self_attn.{q,k,v,o}_proj.weight} and {@code model.layers.N.mlp.{gate,up,down}_proj.weight},
 * named by their tensors, in pruning layout {@code [out, in]} as stored. Replaced weights are kept off-heap
 * in this model's arena, rounded to their tensor's storage dtype (as saving rounds them anyway), so that
 * the pruned part of a model costs what it costs on disk; {@link #close()} frees them and unmaps the files.
 */
public final class LlamaModel implements SequentialModel, AutoCloseable {
    /** Vocabulary rows of the LM head converted to float32 at once when computing logits. */
    static final int VOCAB_CHUNK = 8192;

    private static final String EMBED = "model.embed_tokens.weight";
    private static final String FINAL_NORM = "model.norm.weight";
    private static final String LM_HEAD = "lm_head.weight";

    /** The projections of a block, in the order the block uses them. */
    enum Proj {
        Q("self_attn.q_proj"), K("self_attn.k_proj"), V("self_attn.v_proj"), O("self_attn.o_proj"),
        GATE("mlp.gate_proj"), UP("mlp.up_proj"), DOWN("mlp.down_proj");

        final String module;

        Proj(String module) {
            this.module = module;
        }
    }

    private final Path directory;
    private final LlamaConfig config;
    private final SafetensorsModel weights;
    private final Arena arena = Arena.ofShared();
    private final List<List<LinearRef>> linears;
    private final Map<String, LinearRef> linearsByName = new LinkedHashMap<>();
    private final Map<String, MemorySegment> replaced = new ConcurrentHashMap<>();

    private LlamaModel(Path directory, LlamaConfig config, SafetensorsModel weights) {
        this.directory = directory;
        this.config = config;
        this.weights = weights;
        List<List<LinearRef>> all = new ArrayList<>();
        for (int b = 0; b < config.numHiddenLayers(); b++) {
            List<LinearRef> block = new ArrayList<>();
            for (Proj p : Proj.values()) {
                long[] shape = projShape(p);
                LinearRef ref = new LinearRef(weightName(b, p), b, (int) shape[0], (int) shape[1]);
                block.add(ref);
                linearsByName.put(ref.name(), ref);
            }
            all.add(List.copyOf(block));
        }
        this.linears = List.copyOf(all);
    }

    /**
     * Opens model folder {@code directory}: reads {@code config.json}, maps and validates the weights, and
     * checks every tensor the architecture needs; nothing is modified.
     */
    public static LlamaModel open(Path directory) {
        LlamaConfig config = LlamaConfig.read(directory);
        SafetensorsModel weights = SafetensorsModel.open(directory);
        try {
            LlamaModel model = new LlamaModel(directory, config, weights);
            model.validate();
            return model;
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    private void validate() {
        int h = config.hiddenSize();
        require(EMBED, config.vocabSize(), h);
        for (int b = 0; b < config.numHiddenLayers(); b++) {
            require(normName(b, true), h);
            require(normName(b, false), h);
            for (Proj p : Proj.values()) {
                require(weightName(b, p), projShape(p));
                if (hasBias(p)) {
                    require(biasName(b, p), projShape(p)[0]);
                }
            }
        }
        require(FINAL_NORM, h);
        if (!config.tieWordEmbeddings()) {
            require(LM_HEAD, config.vocabSize(), h);
        }
    }

    private void require(String name, long... shape) {
        if (!weights.has(name)) {
            Path where = weights.index().orElse(weights.shards().getFirst().path());
            throw new ThanosjException(where + ": has no tensor '" + name + "', which " + config.architecture()
                    + " needs (" + directory.resolve(LlamaConfig.FILE) + ": " + config.numHiddenLayers() + " layers)");
        }
        TensorInfo t = weights.info(name);
        String where = weights.shardOf(name).path() + ": tensor '" + name + "'";
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ThanosjException(where + " has shape " + t.shapeString() + ", " + LlamaConfig.FILE
                    + " implies " + Arrays.toString(shape));
        }
        if (t.dtype() == null) {
            throw new ThanosjException(where + " has dtype " + t.dtypeName()
                    + "; only F32, BF16 and F16 weights are supported (quantized checkpoints are not)");
        }
    }

    private long[] projShape(Proj p) {
        long h = config.hiddenSize();
        return switch (p) {
            case Q -> new long[] {config.qDim(), h};
            case K, V -> new long[] {config.kvDim(), h};
            case O -> new long[] {h, config.qDim()};
            case GATE, UP -> new long[] {config.intermediateSize(), h};
            case DOWN -> new long[] {h, config.intermediateSize()};
        };
    }

    private boolean hasBias(Proj p) {
        return config.qkvBias() && (p == Proj.Q || p == Proj.K || p == Proj.V);
    }

    static String weightName(int block, Proj p) {
        return "model.layers." + block + "." + p.module + ".weight";
    }

    private static String biasName(int block, Proj p) {
        return "model.layers." + block + "." + p.module + ".bias";
    }

    private static String normName(int block, boolean input) {
        return "model.layers." + block + (input ? ".input_layernorm.weight" : ".post_attention_layernorm.weight");
    }

    /** The model folder. */
    public Path directory() {
        return directory;
    }

    /** The parsed {@code config.json}. */
    public LlamaConfig config() {
        return config;
    }

    @Override
    public int blocks() {
        return config.numHiddenLayers();
    }

    @Override
    public List<LinearRef> linears(int block) {
        return linears.get(block);
    }

    /** q, k and v read the normed hidden states, gate and up the normed residual; o and down their own. */
    @Override
    public List<List<LinearRef>> inputGroups(int block) {
        List<LinearRef> l = linears(block);
        return List.of(l.subList(0, 3), l.subList(3, 4), l.subList(4, 6), l.subList(6, 7));
    }

    /** The current weight of {@code linear} as a new float32 matrix in {@code target} (any arena; converted on this thread). */
    @Override
    public FloatMatrix weight(LinearRef linear, Arena target) {
        String name = own(linear).name();
        MemorySegment storage = replaced.get(name);
        return FloatMatrix.fromStorage(target, storage != null ? storage : weights.bytes(name),
                weights.info(name).dtype(), linear.rows(), linear.cols());
    }

    /**
     * Replaces the weight of {@code linear} by {@code weight} ({@code [out, in]}), rounded to the tensor's
     * storage dtype, for every later forward pass and for {@link #save}.
     */
    @Override
    public void replaceWeight(LinearRef linear, FloatMatrix weight) {
        own(linear);
        if (weight.rows() != linear.rows() || weight.cols() != linear.cols()) {
            throw new IllegalArgumentException(linear.name() + ": replacement " + weight.shape() + " does not match "
                    + linear.rows() + "x" + linear.cols());
        }
        TensorInfo t = weights.info(linear.name());
        MemorySegment storage = replaced.computeIfAbsent(linear.name(),
                n -> arena.allocate(t.byteSize(), FloatMatrix.ALIGNMENT));
        weight.toStorage(storage, t.dtype());
    }

    private LinearRef own(LinearRef linear) {
        if (!linear.equals(linearsByName.get(linear.name()))) {
            throw new IllegalArgumentException(linear + " is not a linear of " + directory);
        }
        return linear;
    }

    /** Names of the linears replaced so far, sorted. */
    public Set<String> replacedNames() {
        return new TreeSet<>(replaced.keySet());
    }

    /**
     * Writes the model into folder {@code outputDir} (created or replaced atomically): the same shards, index,
     * config and tokenizer files, every replaced linear in its tensor's dtype, every other tensor
     * byte-identical. At most one replaced tensor is held in float32 at a time.
     */
    public SafetensorsWriter.WrittenModel save(Path outputDir) {
        Arena[] current = new Arena[1]; // the writer asks for one tensor at a time, each just before writing it
        try {
            return SafetensorsWriter.writeModel(weights, outputDir, name -> {
                closeQuietly(current);
                if (!replaced.containsKey(name)) {
                    return null;
                }
                current[0] = Arena.ofShared();
                return tensor(name, current[0]);
            });
        } finally {
            closeQuietly(current);
        }
    }

    private static void closeQuietly(Arena[] holder) {
        if (holder[0] != null) {
            holder[0].close();
            holder[0] = null;
        }
    }

    /**
     * Logits of {@code sequences} (token ids, all of the same length) as a new
     * {@code (sequences x length) x vocab} matrix in {@code target}, row {@code s x length + t} for token
     * {@code t} of sequence {@code s}. Meant for short inputs: the result holds every row of the vocabulary.
     */
    public FloatMatrix logits(List<int[]> sequences, Arena target) {
        int seqLen = equalLength(sequences);
        FloatMatrix logits = FloatMatrix.allocate(target, sequences.size() * seqLen, config.vocabSize());
        try (Arena work = Arena.ofShared()) {
            FloatMatrix hidden = FloatMatrix.allocate(work, sequences.size() * seqLen, config.hiddenSize());
            embed(sequences, hidden);
            decode(hidden, sequences.size(), seqLen, block -> { });
            for (int v0 = 0; v0 < config.vocabSize(); v0 += VOCAB_CHUNK) {
                int v1 = Math.min(config.vocabSize(), v0 + VOCAB_CHUNK);
                try (Arena chunk = Arena.ofShared()) {
                    FloatMatrix head = lmHeadRows(v0, v1, chunk);
                    Linalg.get().gemm(false, true, 1f, hidden, head, 0f, logits.columns(v0, v1));
                }
            }
        }
        return logits;
    }

    /** The common length of {@code sequences}; a {@link ThanosjException} when they differ or are empty. */
    static int equalLength(List<int[]> sequences) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no sequences");
        }
        int seqLen = sequences.getFirst().length;
        for (int[] s : sequences) {
            if (s.length != seqLen || s.length == 0) {
                throw new IllegalArgumentException("sequences must have one common, positive length; got " + s.length
                        + " and " + seqLen);
            }
        }
        return seqLen;
    }

    /** Writes the embeddings of {@code sequences} into the rows of {@code out}, sequence after sequence. */
    void embed(List<int[]> sequences, FloatMatrix out) {
        TensorInfo t = weights.info(EMBED);
        MemorySegment table = weights.bytes(EMBED);
        int h = config.hiddenSize();
        long rowBytes = (long) h * t.dtype().byteSize();
        int row = 0;
        for (int[] sequence : sequences) {
            for (int id : sequence) {
                if (id < 0 || id >= config.vocabSize()) {
                    throw new ThanosjException("token id " + id + " is outside the vocabulary of " + config.vocabSize()
                            + " tokens of " + directory + "; does its tokenizer belong to this model?");
                }
                convert(table.asSlice(id * rowBytes, rowBytes), t.dtype(), out.row(row++), h);
            }
        }
    }

    /**
     * Runs every block on {@code hidden} ({@code sequences x seqLen} rows in a shared arena, modified in place) and applies the
     * final norm; {@code afterBlock} is told the index of each finished block.
     */
    void decode(FloatMatrix hidden, int sequences, int seqLen, IntConsumer afterBlock) {
        try (BlockPass pass = new BlockPass(config, seqLen, sequences)) {
            for (int b = 0; b < blocks(); b++) {
                try (Arena scratch = Arena.ofShared()) {
                    pass.run(blockWeights(b, scratch), hidden, sequences, null, true);
                }
                afterBlock.accept(b);
            }
        }
        try (Arena scratch = Arena.ofShared()) {
            BlockPass.rmsNorm(hidden, tensor(FINAL_NORM, scratch), (float) config.rmsNormEps(), hidden);
        }
    }

    /** Rows {@code [v0, v1)} of the LM head (the embedding when tied) as float32 in {@code target}, a shared arena. */
    FloatMatrix lmHeadRows(int v0, int v1, Arena target) {
        String name = config.tieWordEmbeddings() ? EMBED : LM_HEAD;
        TensorInfo t = weights.info(name);
        long rowBytes = (long) config.hiddenSize() * t.dtype().byteSize();
        FloatMatrix out = FloatMatrix.allocate(target, v1 - v0, config.hiddenSize());
        convertRows(weights.bytes(name).asSlice(v0 * rowBytes, (v1 - v0) * rowBytes), t.dtype(), out);
        return out;
    }

    /** The weights of {@code block} in float32, in {@code target}, a shared arena. */
    BlockWeights blockWeights(int block, Arena target) {
        FloatMatrix[] w = new FloatMatrix[Proj.values().length];
        FloatMatrix[] bias = new FloatMatrix[Proj.values().length];
        for (Proj p : Proj.values()) {
            w[p.ordinal()] = tensor(weightName(block, p), target);
            bias[p.ordinal()] = hasBias(p) ? tensor(biasName(block, p), target) : null;
        }
        return new BlockWeights(block, linears(block), tensor(normName(block, true), target),
                tensor(normName(block, false), target), List.of(w), Arrays.asList(bias));
    }

    /**
     * Tensor {@code name} (its replacement when there is one) as a float32 matrix in {@code target}, a shared
     * arena (rows are converted by the workers); vectors are one row.
     */
    private FloatMatrix tensor(String name, Arena target) {
        TensorInfo t = weights.info(name);
        long[] shape = t.shape();
        int rows = shape.length == 1 ? 1 : (int) shape[0];
        int cols = (int) shape[shape.length - 1];
        FloatMatrix out = FloatMatrix.allocate(target, rows, cols);
        MemorySegment storage = replaced.get(name);
        convertRows(storage != null ? storage : weights.bytes(name), t.dtype(), out);
        return out;
    }

    /** Converts row-major {@code storage} (dtype, little-endian) into {@code out}, rows spread over the workers. */
    private static void convertRows(MemorySegment storage, DType dtype, FloatMatrix out) {
        int cols = out.cols();
        long rowBytes = (long) cols * dtype.byteSize();
        int chunk = Math.max(1, (1 << 16) / Math.max(cols, 1));
        int chunks = (out.rows() + chunk - 1) / chunk;
        Workers.parallelFor(chunks, c -> {
            for (int r = c * chunk; r < Math.min(out.rows(), (c + 1) * chunk); r++) {
                convert(storage.asSlice(r * rowBytes, rowBytes), dtype, out.row(r), cols);
            }
        });
    }

    private static void convert(MemorySegment storage, DType dtype, MemorySegment row, int n) {
        for (int i = 0; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, dtype.read(storage, i));
        }
    }

    /** Frees the replaced weights and unmaps the files. */
    @Override
    public void close() {
        arena.close();
        weights.close();
    }

    @Override
    public String toString() {
        return "LlamaModel[" + directory + ", " + config.describe() + "]";
    }
}
