package dev.thanosj.model.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A model's own HuggingFace tokenizer ({@code tokenizer.json}, run by DJL's bundled native
 * {@code tokenizers} library): text to token ids with the special tokens ([CLS] … [SEP] for BERT),
 * truncated to {@link #maxLength()} tokens with the special tokens kept, never padded (a
 * {@link TokenBatch} packs sequences of different lengths). Closing frees the native tokenizer.
 */
public final class Tokenizer implements AutoCloseable {
    /** Default {@code --seq-len}: the sequence length all-MiniLM-L6-v2 was trained and exported with. */
    public static final int DEFAULT_MAX_LENGTH = 128;

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;
    private final String source;

    private Tokenizer(HuggingFaceTokenizer tokenizer, int maxLength, String source) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.source = source;
    }

    /** Loads {@code tokenizerJson} (a HuggingFace {@code tokenizer.json}); sequences keep at most {@code maxLength} tokens. */
    public static Tokenizer fromFile(Path tokenizerJson, int maxLength) {
        checkMaxLength(maxLength);
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return load(in, maxLength, tokenizerJson.toString());
        } catch (IOException e) {
            throw new ThanosjException("cannot read tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Loads a {@code tokenizer.json} from the class path (an absolute resource name). */
    public static Tokenizer fromResource(String resource, int maxLength) {
        checkMaxLength(maxLength);
        try (InputStream in = Tokenizer.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new ThanosjException("tokenizer resource " + resource + " is not on the class path");
            }
            return load(in, maxLength, resource);
        } catch (IOException e) {
            throw new ThanosjException("cannot read tokenizer resource " + resource + ": " + e.getMessage(), e);
        }
    }

    private static void checkMaxLength(int maxLength) {
        if (maxLength < 2) {
            throw new ThanosjException("sequence length must be at least 2 (room for [CLS] and [SEP]), got " + maxLength);
        }
    }

    private static Tokenizer load(InputStream in, int maxLength, String source) throws IOException {
        NativeCache.configureDjl();
        Map<String, String> options = Map.of(
                "addSpecialTokens", "true",
                "truncation", "true",
                "padding", "false",
                "maxLength", Integer.toString(maxLength));
        try {
            return new Tokenizer(HuggingFaceTokenizer.newInstance(in, options), maxLength, source);
        } catch (RuntimeException e) {
            throw new ThanosjException("cannot load tokenizer " + source + ": " + e.getMessage(), e);
        }
    }

    /** The most tokens a sequence keeps, special tokens included. */
    public int maxLength() {
        return maxLength;
    }

    /** Token ids of {@code text}: special tokens added, truncated to {@link #maxLength()}. */
    public int[] encode(String text) {
        Encoding encoding = tokenizer.encode(text);
        long[] ids = encoding.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Every text encoded as by {@link #encode(String)}, as one batch (token-type ids 0). */
    public TokenBatch encode(List<String> texts) {
        List<int[]> sequences = new ArrayList<>(texts.size());
        for (String text : texts) {
            sequences.add(encode(text));
        }
        return TokenBatch.of(sequences);
    }

    /** Frees the native tokenizer. */
    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "Tokenizer[" + source + ", max " + maxLength + " tokens]";
    }
}
