package dev.thanosj.model.bert;

/**
 * Sizes of a BERT encoder, read from the model file (initializer shapes and the attention reshape).
 *
 * @param layers        encoder layers
 * @param hidden        hidden width
 * @param heads         attention heads ({@code hidden = heads · headDim})
 * @param intermediate  width of the feed-forward layer
 * @param vocabSize     rows of the word embedding
 * @param maxPositions  rows of the position embedding: the longest sequence the model accepts
 * @param typeVocabSize rows of the token-type embedding
 */
public record BertConfig(int layers, int hidden, int heads, int intermediate, int vocabSize, int maxPositions,
                         int typeVocabSize) {
    public BertConfig {
        if (layers < 1 || hidden < 1 || heads < 1 || intermediate < 1 || vocabSize < 1 || maxPositions < 1 || typeVocabSize < 1) {
            throw new IllegalArgumentException("every size must be positive: " + layers + " layers, hidden " + hidden
                    + ", " + heads + " heads, intermediate " + intermediate + ", vocabulary " + vocabSize + ", "
                    + maxPositions + " positions, " + typeVocabSize + " token types");
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of " + heads + " heads");
        }
    }

    /** Width of one attention head. */
    public int headDim() {
        return hidden / heads;
    }
}
