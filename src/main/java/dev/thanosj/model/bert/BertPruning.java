package dev.thanosj.model.bert;

import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.onnx.OnnxWriter;
import dev.thanosj.model.pipeline.CalibrationPass;
import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.model.pipeline.SequentialModel;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A {@link BertEncoder} seen by the sequential pruning loop: its Linears in pruning layout ({@code [out, in]},
 * the transpose of the ONNX MatMul's {@code [in, out]}), the pruned weights that replace them (kept
 * {@code [in, out]} off-heap in this object's arena), calibration passes, and the pruned copy of the file.
 */
public final class BertPruning implements SequentialModel, AutoCloseable {
    private final BertEncoder encoder;
    private final Arena arena = Arena.ofShared();
    private final Map<String, OnnxLinear> byLabel = new LinkedHashMap<>();
    private final Map<OnnxLinear, FloatMatrix> replaced = new HashMap<>();

    /** Wraps {@code encoder}, which stays owned by the caller. */
    public BertPruning(BertEncoder encoder) {
        this.encoder = encoder;
        for (OnnxLinear linear : encoder.linears()) {
            byLabel.put(linear.label(), linear);
        }
    }

    /** The encoder. */
    public BertEncoder encoder() {
        return encoder;
    }

    @Override
    public int blocks() {
        return encoder.config().layers();
    }

    @Override
    public List<LinearRef> linears(int block) {
        return encoder.linears(block).stream().map(BertPruning::ref).toList();
    }

    /** Query, key and value read the same activations; the other Linears each read their own. */
    @Override
    public List<List<LinearRef>> inputGroups(int block) {
        List<LinearRef> l = linears(block);
        return List.of(l.subList(0, 3), l.subList(3, 4), l.subList(4, 5), l.subList(5, 6));
    }

    private static LinearRef ref(OnnxLinear linear) {
        return new LinearRef(linear.label(), linear.layer(), linear.outFeatures(), linear.inFeatures());
    }

    private OnnxLinear linear(LinearRef ref) {
        OnnxLinear linear = byLabel.get(ref.name());
        if (linear == null) {
            throw new IllegalArgumentException("no Linear " + ref.name() + " in " + encoder.model().fileName());
        }
        return linear;
    }

    @Override
    public FloatMatrix weight(LinearRef ref, Arena target) {
        OnnxLinear linear = linear(ref);
        FloatMatrix stored = replaced.get(linear);
        try (Arena scratch = Arena.ofConfined()) {
            FloatMatrix inOut = stored != null ? stored : encoder.readWeight(linear, scratch);
            FloatMatrix outIn = FloatMatrix.allocate(target, linear.outFeatures(), linear.inFeatures());
            inOut.transposeInto(outIn);
            return outIn;
        }
    }

    @Override
    public void replaceWeight(LinearRef ref, FloatMatrix weight) {
        OnnxLinear linear = linear(ref);
        FloatMatrix inOut = replaced.computeIfAbsent(linear,
                l -> FloatMatrix.allocate(arena, l.inFeatures(), l.outFeatures()));
        weight.transposeInto(inOut);
    }

    /** The weights the encoder runs with: the replaced ones, the file's for the rest. */
    public Function<OnnxLinear, FloatMatrix> weights() {
        return replaced::get;
    }

    /** A calibration pass over {@code batch}, starting at its embeddings. */
    public CalibrationPass calibration(TokenBatch batch) {
        return new Pass(batch);
    }

    /** Writes the model file with the replaced weights to {@code target} (atomically). */
    public void save(Path target) {
        Map<String, FloatMatrix> byInitializer = new LinkedHashMap<>();
        replaced.forEach((linear, w) -> byInitializer.put(linear.weight().name(), w));
        OnnxWriter.write(encoder.model(), byInitializer, target);
    }

    @Override
    public void close() {
        arena.close();
    }

    /**
     * The packed hidden states of a batch flowing through the encoder. Each tap call counts as one sequence:
     * the statistics are then a common positive multiple of the spec's running means, which gives identical
     * pruning results ({@code ALGORITHMS.md}, notation).
     */
    private final class Pass implements CalibrationPass {
        private final Arena passArena = Arena.ofShared();
        private final TokenBatch batch;
        private final FloatMatrix hidden;

        Pass(TokenBatch batch) {
            this.batch = batch;
            this.hidden = encoder.embed(batch, passArena);
        }

        @Override
        public void capture(int block, Tap tap) {
            encoder.layer(block, batch, hidden, null, weights(), (linear, inputs) -> tap.accept(ref(linear), inputs, 1));
        }

        @Override
        public void advance(int block) {
            encoder.layer(block, batch, hidden, hidden, weights(), null);
        }

        @Override
        public void close() {
            passArena.close();
        }
    }
}
