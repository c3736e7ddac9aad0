package dev.thanosj.model.text;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Token sequences of possibly different lengths, without padding: sequence {@code s} holds
 * {@link #length(int)} tokens (ids and token-type ids) and its tokens are rows
 * {@code [offset(s), offset(s) + length(s))} of a packed {@code totalTokens x width} activation matrix.
 * {@link #inputIds()}, {@link #attentionMask()} and {@link #tokenTypeIds()} give the right-padded
 * {@code [batch, maxLength]} arrays an ONNX BERT expects. Immutable.
 */
public final class TokenBatch {
    private final int[] ids;
    private final int[] typeIds;
    private final int[] offsets;

    private TokenBatch(int[] ids, int[] typeIds, int[] offsets) {
        this.ids = ids;
        this.typeIds = typeIds;
        this.offsets = offsets;
    }

    /** A batch of the given sequences with all token-type ids 0. */
    public static TokenBatch of(List<int[]> sequences) {
        return of(sequences, sequences.stream().map(s -> new int[s.length]).toList());
    }

    /** A batch of the given sequences and their token-type ids (same lengths, each at least one token). */
    public static TokenBatch of(List<int[]> sequences, List<int[]> typeIds) {
        if (sequences.size() != typeIds.size()) {
            throw new IllegalArgumentException(sequences.size() + " sequences but " + typeIds.size() + " token-type id arrays");
        }
        int[] offsets = new int[sequences.size() + 1];
        for (int s = 0; s < sequences.size(); s++) {
            int n = Objects.requireNonNull(sequences.get(s), "sequence").length;
            if (n == 0) {
                throw new IllegalArgumentException("sequence " + s + " is empty");
            }
            if (typeIds.get(s).length != n) {
                throw new IllegalArgumentException("sequence " + s + " has " + n + " ids but " + typeIds.get(s).length
                        + " token-type ids");
            }
            offsets[s + 1] = Math.addExact(offsets[s], n);
        }
        int[] ids = new int[offsets[sequences.size()]];
        int[] types = new int[ids.length];
        for (int s = 0; s < sequences.size(); s++) {
            System.arraycopy(sequences.get(s), 0, ids, offsets[s], sequences.get(s).length);
            System.arraycopy(typeIds.get(s), 0, types, offsets[s], sequences.get(s).length);
        }
        return new TokenBatch(ids, types, offsets);
    }

    /** Number of sequences. */
    public int size() {
        return offsets.length - 1;
    }

    /** Tokens of sequence {@code s}. */
    public int length(int s) {
        Objects.checkIndex(s, size());
        return offsets[s + 1] - offsets[s];
    }

    /** Row of the first token of sequence {@code s} in the packed layout. */
    public int offset(int s) {
        Objects.checkIndex(s, size() + 1);
        return offsets[s];
    }

    /** Tokens of all sequences together: the rows of the packed layout. */
    public int totalTokens() {
        return offsets[size()];
    }

    /** Length of the longest sequence (0 for an empty batch). */
    public int maxLength() {
        int max = 0;
        for (int s = 0; s < size(); s++) {
            max = Math.max(max, length(s));
        }
        return max;
    }

    /** Token id {@code t} of sequence {@code s}. */
    public int id(int s, int t) {
        Objects.checkIndex(t, length(s));
        return ids[offsets[s] + t];
    }

    /** Token-type id {@code t} of sequence {@code s}. */
    public int typeId(int s, int t) {
        Objects.checkIndex(t, length(s));
        return typeIds[offsets[s] + t];
    }

    /** The ids of sequence {@code s} (a copy). */
    public int[] ids(int s) {
        return Arrays.copyOfRange(ids, offsets[s], offsets[s] + length(s));
    }

    /** Sequences {@code [from, to)} as a new batch. */
    public TokenBatch slice(int from, int to) {
        Objects.checkFromToIndex(from, to, size());
        int[] off = new int[to - from + 1];
        for (int s = from; s <= to; s++) {
            off[s - from] = offsets[s] - offsets[from];
        }
        return new TokenBatch(Arrays.copyOfRange(ids, offsets[from], offsets[to]),
                Arrays.copyOfRange(typeIds, offsets[from], offsets[to]), off);
    }

    /** {@code input_ids} as {@code [batch, maxLength]}, right-padded with 0. */
    public long[][] inputIds() {
        return padded(ids);
    }

    /** {@code token_type_ids} as {@code [batch, maxLength]}, right-padded with 0. */
    public long[][] tokenTypeIds() {
        return padded(typeIds);
    }

    /** {@code attention_mask} as {@code [batch, maxLength]}: 1 for tokens, 0 for padding. */
    public long[][] attentionMask() {
        return padded(null);
    }

    /** {@code values} per sequence, right-padded with 0; 1 for every token when {@code values} is null. */
    private long[][] padded(int[] values) {
        long[][] out = new long[size()][maxLength()];
        for (int s = 0; s < size(); s++) {
            for (int t = 0; t < length(s); t++) {
                out[s][t] = values == null ? 1 : values[offsets[s] + t];
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "TokenBatch[" + size() + " sequences, " + totalTokens() + " tokens, longest " + maxLength() + "]";
    }
}
