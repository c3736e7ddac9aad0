package dev.thanosj.model.llama;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.thanosj.ThanosjException;
import dev.thanosj.model.text.NativeCache;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The model folder's own {@code tokenizer.json}, run by DJL's HuggingFace tokenizers, turning a whole text
 * into one stream of token ids the way the reference repositories do ({@code tokenizer(text)} in
 * {@code transformers}): the tokenizer's own special tokens are added, which for Llama and Mistral is one
 * BOS at the very start of the text (none for Qwen2), never truncated or padded. Calibration and evaluation
 * windows are then cut from this stream, so only a window that starts at 0 begins with BOS, as in the
 * reference code. Closing frees the native tokenizer.
 */
public final class LlamaTokenizer implements AutoCloseable {
    /** The file name of the tokenizer in a model folder. */
    public static final String FILE = "tokenizer.json";

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private LlamaTokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /** Loads {@code tokenizer.json} of model folder {@code directory}. */
    public static LlamaTokenizer open(Path directory) {
        Path file = directory.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ThanosjException(directory + ": has no " + FILE + " (the Hugging Face fast tokenizer is needed "
                    + "for calibration and evaluation text)");
        }
        NativeCache.configureDjl();
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
        try {
            return new LlamaTokenizer(HuggingFaceTokenizer.newInstance(file, options), file);
        } catch (IOException | RuntimeException e) {
            throw new ThanosjException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text}, with the tokenizer's special tokens, untruncated. */
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Token ids of the whole UTF-8 text file {@code textFile}, as {@link #encode(String)}. */
    public int[] encodeFile(Path textFile) {
        return encode(readText(textFile));
    }

    /** The content of UTF-8 text file {@code file}; a {@link ThanosjException} naming it when it cannot be read. */
    static String readText(Path file) {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ThanosjException("text file " + file + " does not exist", e);
        } catch (CharacterCodingException e) {
            throw new ThanosjException("text file " + file + " is not UTF-8 text", e);
        } catch (IOException e) {
            throw new ThanosjException("cannot read text file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Frees the native tokenizer. */
    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "LlamaTokenizer[" + file + "]";
    }
}
