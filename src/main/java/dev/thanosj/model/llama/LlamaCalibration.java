package dev.thanosj.model.llama;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.pipeline.CalibrationPass;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The calibration activations of a {@link LlamaModel}: {@code samples} windows of {@code seqLen} tokens,
 * held as one off-heap float32 matrix of {@code samples x seqLen} rows of width {@code hidden}, starting at
 * the embeddings. {@link #capture} runs a block on them and shows the inputs of q, k, v (the normed hidden
 * states), o (the attention output), gate and up (the normed hidden states after attention) and down
 * ({@code silu(gate) * up}), in steps of whole windows; {@link #advance} overwrites them, step by step, with
 * the block's outputs, so they are never held twice. {@link #close()} frees them.
 */
public final class LlamaCalibration implements CalibrationPass {
    private final LlamaModel model;
    private final int samples;
    private final int seqLen;
    private final Arena arena = Arena.ofShared();
    private final FloatMatrix hidden;
    private final BlockPass pass;

    private LlamaCalibration(LlamaModel model, List<int[]> windows) {
        this.model = model;
        this.samples = windows.size();
        this.seqLen = LlamaModel.equalLength(windows);
        try {
            this.hidden = FloatMatrix.allocate(arena, Math.multiplyExact(samples, seqLen), model.config().hiddenSize());
            model.embed(windows, hidden);
            this.pass = new BlockPass(model.config(), seqLen, samples);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Tokenizes {@code textFile} whole with {@code tokenizer} and starts a pass on {@code samples} windows of
     * {@code seqLen} tokens drawn as {@link #windows} does with {@code seed}.
     */
    public static LlamaCalibration sample(LlamaModel model, LlamaTokenizer tokenizer, Path textFile, int samples,
            int seqLen, long seed) {
        int[] tokens = tokenizer.encodeFile(textFile);
        return of(model, windows(tokens, samples, seqLen, seed, textFile.toString()));
    }

    /** A pass starting at the embeddings of {@code windows} (token ids, all of one length). */
    public static LlamaCalibration of(LlamaModel model, List<int[]> windows) {
        return new LlamaCalibration(model, windows);
    }

    /**
     * {@code samples} windows of {@code seqLen} consecutive tokens of {@code tokens}, as the reference
     * repositories draw them from one tokenized text: each starts at a position drawn uniformly from
     * {@code [0, tokens.length - seqLen]} by a {@link SplittableRandom} seeded with {@code seed}; windows may
     * overlap. {@code source} names the text in the error raised when it is shorter than one window.
     */
    public static List<int[]> windows(int[] tokens, int samples, int seqLen, long seed, String source) {
        if (samples < 1) {
            throw new ThanosjException("--samples " + samples + " must be at least 1");
        }
        if (seqLen < 2) {
            throw new ThanosjException("--seq-len " + seqLen + " must be at least 2");
        }
        if (tokens.length < seqLen) {
            throw new ThanosjException("calibration text " + source + " has " + tokens.length
                    + " tokens, fewer than one window of --seq-len " + seqLen + "; give a longer text or a smaller --seq-len");
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>(samples);
        for (int i = 0; i < samples; i++) {
            int start = random.nextInt(tokens.length - seqLen + 1);
            out.add(Arrays.copyOfRange(tokens, start, start + seqLen));
        }
        return out;
    }

    /** Number of calibration windows. */
    public int samples() {
        return samples;
    }

    /** Tokens per window. */
    public int seqLen() {
        return seqLen;
    }

    @Override
    public void capture(int block, Tap tap) {
        try (Arena scratch = Arena.ofShared()) {
            pass.run(model.blockWeights(block, scratch), hidden, samples, tap, false);
        }
    }

    @Override
    public void advance(int block) {
        try (Arena scratch = Arena.ofShared()) {
            pass.run(model.blockWeights(block, scratch), hidden, samples, null, true);
        }
    }

    /** The current hidden states, {@code samples x seqLen} rows (a view; valid until {@link #close()}). */
    public FloatMatrix hidden() {
        return hidden;
    }

    @Override
    public void close() {
        pass.close();
        arena.close();
    }
}
