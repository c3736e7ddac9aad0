package dev.thanosj.model.llama;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.model.llama.LlamaModel.Proj;
import dev.thanosj.model.pipeline.CalibrationPass;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Runs decoder blocks on hidden states of sequences of one length, as {@code transformers}'
 * {@code LlamaDecoderLayer} computes them: {@code h += o_proj(attention(rope(q), rope(k), v))} on
 * {@code RMSNorm(h)}, then {@code h += down_proj(silu(gate_proj(x)) * up_proj(x))} on {@code x = RMSNorm(h)};
 * every projection is {@code y = x Wᵀ (+ b)} with the stored {@code [out, in]} weight. Causal attention with
 * grouped-query heads (query head {@code h} reads key/value head {@code h / (heads / kvHeads)}), scaled by
 * {@code 1/sqrt(headDim)}, optionally limited to a sliding window.
 *
 * <p>Memory is bounded by one step: up to {@link #ROWS_PER_STEP} rows (whole sequences, at least one) go
 * through the projections together, attention runs one sequence at a time and one head per worker, over
 * query blocks of {@link #QUERY_BLOCK} rows that only score the keys they may see. The scratch is allocated
 * once, in this object's arena.
 */
final class BlockPass implements AutoCloseable {
    /** Rows (tokens) per projection step; whole sequences, at least one. */
    static final int ROWS_PER_STEP = 2048;
    /** Query rows scored at once in attention. */
    static final int QUERY_BLOCK = 128;
    private static final int ROW_CHUNK = 32;

    private final LlamaConfig config;
    private final int seqLen;
    private final int group;
    private final Arena arena = Arena.ofShared();
    private final Rope rope;
    private final FloatMatrix res;
    private final FloatMatrix normed;
    private final FloatMatrix q;
    private final FloatMatrix k;
    private final FloatMatrix v;
    private final FloatMatrix att;
    private final FloatMatrix gate;
    private final FloatMatrix up;
    private final FloatMatrix[] scores;

    BlockPass(LlamaConfig config, int seqLen, int maxSequences) {
        this.config = config;
        this.seqLen = seqLen;
        this.group = sequencesPerStep(seqLen, maxSequences);
        int rows = group * seqLen;
        int h = config.hiddenSize();
        this.rope = new Rope(config, seqLen, arena);
        this.res = FloatMatrix.allocate(arena, rows, h);
        this.normed = FloatMatrix.allocate(arena, rows, h);
        this.q = FloatMatrix.allocate(arena, rows, config.qDim());
        this.k = FloatMatrix.allocate(arena, rows, config.kvDim());
        this.v = FloatMatrix.allocate(arena, rows, config.kvDim());
        this.att = FloatMatrix.allocate(arena, rows, config.qDim());
        this.gate = FloatMatrix.allocate(arena, rows, config.intermediateSize());
        this.up = FloatMatrix.allocate(arena, rows, config.intermediateSize());
        this.scores = new FloatMatrix[attentionWorkers(config)];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = FloatMatrix.allocate(arena, Math.min(QUERY_BLOCK, seqLen), seqLen);
        }
    }

    private static int sequencesPerStep(int seqLen, int maxSequences) {
        return Math.max(1, Math.min(maxSequences, ROWS_PER_STEP / seqLen));
    }

    private static int attentionWorkers(LlamaConfig config) {
        return Math.max(1, Math.min(config.numAttentionHeads(), Workers.threads()));
    }

    /** Bytes of scratch a pass over {@code maxSequences} sequences of {@code seqLen} tokens allocates. */
    static long scratchBytes(LlamaConfig config, int seqLen, int maxSequences) {
        long rows = (long) sequencesPerStep(seqLen, maxSequences) * seqLen;
        long perRow = 2L * config.hiddenSize() + 2L * config.qDim() + 2L * config.kvDim()
                + 2L * config.intermediateSize();
        long scoreFloats = (long) attentionWorkers(config) * Math.min(QUERY_BLOCK, seqLen) * seqLen;
        long ropeFloats = (long) seqLen * config.headDim();
        return (rows * perRow + scoreFloats + ropeFloats) * Float.BYTES;
    }

    /**
     * Runs the block whose weights are {@code w} on {@code hidden} ({@code sequences x seqLen} rows), showing
     * each projection's input to {@code tap} (may be null); writes the block's outputs back into
     * {@code hidden} only when {@code update}.
     */
    void run(BlockWeights w, FloatMatrix hidden, int sequences, CalibrationPass.Tap tap, boolean update) {
        if (hidden.rows() != sequences * seqLen || hidden.cols() != config.hiddenSize()) {
            throw new IllegalArgumentException("hidden states " + hidden.shape() + " are not " + sequences + " x "
                    + seqLen + " tokens of width " + config.hiddenSize());
        }
        for (int s0 = 0; s0 < sequences; s0 += group) {
            int n = Math.min(group, sequences - s0);
            FloatMatrix in = hidden.rows(s0 * seqLen, (s0 + n) * seqLen);
            FloatMatrix r = res.rows(0, in.rows());
            r.copyFrom(in);
            step(w, r, n, tap);
            if (update) {
                in.copyFrom(r);
            }
        }
    }

    /** One block on the residual stream {@code r} of {@code n} whole sequences, in place. */
    private void step(BlockWeights w, FloatMatrix r, int n, CalibrationPass.Tap tap) {
        int rows = r.rows();
        float eps = (float) config.rmsNormEps();
        Linalg linalg = Linalg.get();
        FloatMatrix x = normed.rows(0, rows);
        rmsNorm(r, w.inputNorm(), eps, x);
        show(tap, w, x, n, Proj.Q, Proj.K, Proj.V);
        FloatMatrix qs = project(w, Proj.Q, x, q.rows(0, rows));
        FloatMatrix ks = project(w, Proj.K, x, k.rows(0, rows));
        FloatMatrix vs = project(w, Proj.V, x, v.rows(0, rows));
        forRows(rows, i -> {
            rope.apply(qs, i, config.numAttentionHeads(), i % seqLen);
            rope.apply(ks, i, config.numKeyValueHeads(), i % seqLen);
        });
        FloatMatrix a = att.rows(0, rows);
        for (int s = 0; s < n; s++) {
            int r0 = s * seqLen;
            int r1 = r0 + seqLen;
            attend(qs.rows(r0, r1), ks.rows(r0, r1), vs.rows(r0, r1), a.rows(r0, r1));
        }
        show(tap, w, a, n, Proj.O);
        linalg.gemm(false, true, 1f, a, w.weight(Proj.O), 1f, r);
        rmsNorm(r, w.postNorm(), eps, x);
        show(tap, w, x, n, Proj.GATE, Proj.UP);
        FloatMatrix g = project(w, Proj.GATE, x, gate.rows(0, rows));
        FloatMatrix u = project(w, Proj.UP, x, up.rows(0, rows));
        forRows(rows, i -> {
            MemorySegment gi = g.row(i);
            MemorySegment ui = u.row(i);
            for (int j = 0; j < g.cols(); j++) {
                float z = gi.getAtIndex(JAVA_FLOAT, j);
                float silu = (float) (z / (1 + Math.exp(-z)));
                gi.setAtIndex(JAVA_FLOAT, j, silu * ui.getAtIndex(JAVA_FLOAT, j));
            }
        });
        show(tap, w, g, n, Proj.DOWN);
        linalg.gemm(false, true, 1f, g, w.weight(Proj.DOWN), 1f, r);
    }

    private static void show(CalibrationPass.Tap tap, BlockWeights w, FloatMatrix inputs, int sequences, Proj... projs) {
        if (tap != null) {
            for (Proj p : projs) {
                tap.accept(w.linear(p), inputs, sequences);
            }
        }
    }

    /** {@code out = x Wᵀ + b} for projection {@code p}; returns {@code out}. */
    private static FloatMatrix project(BlockWeights w, Proj p, FloatMatrix x, FloatMatrix out) {
        Linalg.get().gemm(false, true, 1f, x, w.weight(p), 0f, out);
        FloatMatrix bias = w.bias(p);
        if (bias != null) {
            MemorySegment b = bias.row(0);
            forRows(out.rows(), i -> {
                MemorySegment row = out.row(i);
                for (int j = 0; j < out.cols(); j++) {
                    row.setAtIndex(JAVA_FLOAT, j, row.getAtIndex(JAVA_FLOAT, j) + b.getAtIndex(JAVA_FLOAT, j));
                }
            });
        }
        return out;
    }

    /** Causal (optionally windowed) attention of one sequence: {@code out} (seqLen x qDim) is overwritten. */
    private void attend(FloatMatrix qs, FloatMatrix ks, FloatMatrix vs, FloatMatrix out) {
        int heads = config.numAttentionHeads();
        int d = config.headDim();
        int perKv = heads / config.numKeyValueHeads();
        int window = config.slidingWindow();
        float scale = (float) (1 / Math.sqrt(d));
        int workers = scores.length;
        Linalg linalg = Linalg.get();
        linalg.parallelFor(workers, worker -> {
            FloatMatrix scratch = scores[worker];
            for (int h = worker; h < heads; h += workers) {
                int kv = h / perKv;
                FloatMatrix qh = qs.columns(h * d, (h + 1) * d);
                FloatMatrix kh = ks.columns(kv * d, (kv + 1) * d);
                FloatMatrix vh = vs.columns(kv * d, (kv + 1) * d);
                FloatMatrix oh = out.columns(h * d, (h + 1) * d);
                for (int i0 = 0; i0 < seqLen; i0 += QUERY_BLOCK) {
                    int i1 = Math.min(seqLen, i0 + QUERY_BLOCK);
                    int k0 = window > 0 ? Math.max(0, i0 - window + 1) : 0;
                    FloatMatrix s = scratch.view(0, 0, i1 - i0, i1 - k0);
                    linalg.gemm(false, true, scale, qh.rows(i0, i1), kh.rows(k0, i1), 0f, s);
                    for (int i = i0; i < i1; i++) {
                        int first = window > 0 ? Math.max(0, i - window + 1) : 0;
                        softmax(s.row(i - i0), first - k0, i - k0);
                    }
                    linalg.gemm(false, false, 1f, s, vh.rows(k0, i1), 0f, oh.rows(i0, i1));
                }
            }
        });
    }

    /** Softmax over columns {@code [lo, hi]} of {@code row}, in place; every other column becomes 0. */
    private static void softmax(MemorySegment row, int lo, int hi) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = lo; j <= hi; j++) {
            max = Math.max(max, row.getAtIndex(JAVA_FLOAT, j));
        }
        double sum = 0;
        for (int j = lo; j <= hi; j++) {
            double e = Math.exp(row.getAtIndex(JAVA_FLOAT, j) - max);
            row.setAtIndex(JAVA_FLOAT, j, (float) e);
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (int j = lo; j <= hi; j++) {
            row.setAtIndex(JAVA_FLOAT, j, row.getAtIndex(JAVA_FLOAT, j) * inv);
        }
        long width = row.byteSize() / Float.BYTES;
        row.asSlice(0, (long) lo * Float.BYTES).fill((byte) 0);
        row.asSlice((hi + 1L) * Float.BYTES, (width - hi - 1) * Float.BYTES).fill((byte) 0);
    }

    /**
     * {@code dst = src / sqrt(mean(src²) + eps) * weight} row by row (mean in double), as {@code LlamaRMSNorm};
     * {@code dst} may be {@code src}.
     */
    static void rmsNorm(FloatMatrix src, FloatMatrix weight, float eps, FloatMatrix dst) {
        int n = src.cols();
        MemorySegment w = weight.row(0);
        forRows(src.rows(), i -> {
            MemorySegment x = src.row(i);
            MemorySegment y = dst.row(i);
            double squares = 0;
            for (int j = 0; j < n; j++) {
                float e = x.getAtIndex(JAVA_FLOAT, j);
                squares += (double) e * e;
            }
            float inv = (float) (1 / Math.sqrt(squares / n + eps));
            for (int j = 0; j < n; j++) {
                y.setAtIndex(JAVA_FLOAT, j, w.getAtIndex(JAVA_FLOAT, j) * (x.getAtIndex(JAVA_FLOAT, j) * inv));
            }
        });
    }

    /** Runs {@code body(i)} for every row {@code i < rows}, chunks of rows spread over the workers. */
    private static void forRows(int rows, IntConsumer body) {
        int chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
        Workers.parallelFor(chunks, c -> {
            for (int i = c * ROW_CHUNK; i < Math.min(rows, (c + 1) * ROW_CHUNK); i++) {
                body.accept(i);
            }
        });
    }

    @Override
    public void close() {
        arena.close();
    }
}
