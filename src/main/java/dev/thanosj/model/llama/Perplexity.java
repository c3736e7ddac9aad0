package dev.thanosj.model.llama;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Perplexity of a {@link LlamaModel} on a text, with the protocol of the reference repositories' WikiText-2
 * evaluation (sparsegpt {@code llama_eval}, wanda {@code eval_ppl_wikitext}): the whole text is tokenized
 * once, cut into {@code n = tokens / seqLen} non-overlapping windows (the remainder is dropped), each window
 * is run as an independent sequence, and the loss of window position {@code t} is the cross-entropy of its
 * logits against token {@code t + 1}; the result is {@code exp} of the mean over all
 * {@code n x (seqLen - 1)} predicted tokens. Windows go through the model in batches that bound the hidden
 * states; logits are computed {@link LlamaModel#VOCAB_CHUNK} vocabulary rows at a time for one window at a
 * time, and the log-softmax is accumulated row by row in double (a running log-sum-exp), so no
 * {@code seqLen x vocab} matrix is ever held.
 */
public final class Perplexity {
    /** Hidden-state bytes one batch of windows may take (at least one window per batch). */
    static final long BATCH_BYTES = 512L << 20;

    /** The outcome of an evaluation. */
    public record Result(double perplexity, int windows, long tokens, double seconds) {
    }

    /** Told after every block of every batch and after each batch's logits. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    private Perplexity() {
    }

    /** Perplexity of {@code model} on UTF-8 text file {@code textFile}, tokenized by the model's own tokenizer. */
    public static Result evaluate(LlamaModel model, Path textFile, int seqLen) {
        return evaluate(model, textFile, seqLen, (done, total) -> { });
    }

    /** As {@link #evaluate(LlamaModel, Path, int)}, reporting progress. */
    public static Result evaluate(LlamaModel model, Path textFile, int seqLen, Progress progress) {
        int[] tokens;
        try (LlamaTokenizer tokenizer = LlamaTokenizer.open(model.directory())) {
            tokens = tokenizer.encodeFile(textFile);
        }
        return evaluate(model, tokens, seqLen, textFile.toString(), progress);
    }

    /** Perplexity of {@code model} on the token stream {@code tokens}; {@code source} names it in errors. */
    public static Result evaluate(LlamaModel model, int[] tokens, int seqLen, String source, Progress progress) {
        long windowBytes = (long) seqLen * model.config().hiddenSize() * Float.BYTES;
        return evaluate(model, tokens, seqLen, source, progress, (int) Math.max(1, Math.min(Integer.MAX_VALUE,
                BATCH_BYTES / windowBytes)));
    }

    /** As {@link #evaluate(LlamaModel, int[], int, String, Progress)} with at most {@code perBatch} windows per batch. */
    static Result evaluate(LlamaModel model, int[] tokens, int seqLen, String source, Progress progress, int perBatch) {
        long start = System.nanoTime();
        if (seqLen < 2) {
            throw new ThanosjException("--seq-len " + seqLen + " must be at least 2");
        }
        int windows = tokens.length / seqLen;
        if (windows == 0) {
            throw new ThanosjException("evaluation text " + source + " has " + tokens.length
                    + " tokens, fewer than one window of --seq-len " + seqLen);
        }
        LlamaConfig config = model.config();
        int batches = (windows + perBatch - 1) / perBatch;
        long total = (long) batches * (model.blocks() + 1);
        long[] done = {0};
        double nll = 0;
        for (int w0 = 0; w0 < windows; w0 += perBatch) {
            int n = Math.min(perBatch, windows - w0);
            List<int[]> batch = new ArrayList<>(n);
            for (int w = w0; w < w0 + n; w++) {
                batch.add(Arrays.copyOfRange(tokens, w * seqLen, (w + 1) * seqLen));
            }
            try (Arena arena = Arena.ofShared()) {
                FloatMatrix hidden = FloatMatrix.allocate(arena, n * seqLen, config.hiddenSize());
                model.embed(batch, hidden);
                model.decode(hidden, n, seqLen, block -> progress.update(++done[0], total));
                nll += negativeLogLikelihood(model, hidden, batch);
            }
            progress.update(++done[0], total);
        }
        long predicted = (long) windows * (seqLen - 1);
        return new Result(Math.exp(nll / predicted), windows, predicted, (System.nanoTime() - start) / 1e9);
    }

    /**
     * Sum over the windows of {@code batch} of {@code -log softmax(logits[t])[token t+1]} for {@code t < seqLen - 1};
     * {@code hidden} holds their final normed hidden states.
     */
    private static double negativeLogLikelihood(LlamaModel model, FloatMatrix hidden, List<int[]> batch) {
        int seqLen = batch.getFirst().length;
        int rows = batch.size() * (seqLen - 1);
        double[] max = new double[rows];
        double[] sum = new double[rows];
        double[] target = new double[rows];
        Arrays.fill(max, Double.NEGATIVE_INFINITY);
        int vocab = model.config().vocabSize();
        Linalg linalg = Linalg.get();
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix logits = FloatMatrix.allocate(arena, seqLen - 1, Math.min(vocab, LlamaModel.VOCAB_CHUNK));
            for (int v0 = 0; v0 < vocab; v0 += LlamaModel.VOCAB_CHUNK) {
                int v1 = Math.min(vocab, v0 + LlamaModel.VOCAB_CHUNK);
                try (Arena chunk = Arena.ofShared()) {
                    FloatMatrix head = model.lmHeadRows(v0, v1, chunk);
                    for (int w = 0; w < batch.size(); w++) {
                        FloatMatrix part = logits.columns(0, v1 - v0);
                        linalg.gemm(false, true, 1f, hidden.rows(w * seqLen, (w + 1) * seqLen - 1), head, 0f, part);
                        int[] tokens = batch.get(w);
                        int first = w * (seqLen - 1);
                        int offset = v0;
                        Workers.parallelFor(seqLen - 1,
                                t -> accumulate(part.row(t), offset, tokens[t + 1], first + t, max, sum, target));
                    }
                }
            }
        }
        double nll = 0;
        for (int r = 0; r < rows; r++) {
            nll += max[r] + Math.log(sum[r]) - target[r];
        }
        return nll;
    }

    /**
     * Folds logits {@code [v0, v0 + row.length)} of row {@code r} into its running log-sum-exp
     * ({@code max[r] + log sum[r]}) and records the logit of {@code label} when it falls in this chunk.
     */
    private static void accumulate(MemorySegment row, int v0, int label, int r, double[] max, double[] sum,
            double[] target) {
        int n = (int) (row.byteSize() / Float.BYTES);
        double m = max[r];
        for (int j = 0; j < n; j++) {
            m = Math.max(m, row.getAtIndex(JAVA_FLOAT, j));
        }
        double s = sum[r] == 0 ? 0 : sum[r] * Math.exp(max[r] - m);
        for (int j = 0; j < n; j++) {
            s += Math.exp(row.getAtIndex(JAVA_FLOAT, j) - m);
        }
        max[r] = m;
        sum[r] = s;
        if (label >= v0 && label < v0 + n) {
            target[r] = row.getAtIndex(JAVA_FLOAT, label - v0);
        }
    }
}
