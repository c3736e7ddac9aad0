package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.model.bert.MiniLm;
import dev.thanosj.model.text.CalibrationText;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * The text options of the model commands: the tokenizer of an ONNX BERT (default: the bundled MiniLM's),
 * the calibration and evaluation text (default: the English Europarl documents, split so the two never
 * share a document), how much of it to use, and the helpers that turn it into token batches.
 */
final class TextOptions {
    @Option(names = "--tokenizer", paramLabel = "tokenizer.json",
            description = "the model's tokenizer (default: the bundled MiniLM's)")
    Path tokenizer;

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "calibration text, one document per non-empty line (default: English Europarl, even documents)")
    Path calibration;

    @Option(names = "--samples", description = "calibration documents drawn (default ${DEFAULT-VALUE})")
    int samples = 128;

    @Option(names = "--seq-len", description = "tokens per sample (default: 128 for BERT; min(2048, the model's"
            + " maximum) for decoder models)")
    Integer seqLen;

    @Option(names = "--seed", description = "seed of the calibration draw (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--eval-text", paramLabel = "FILE",
            description = "held-out text for the fidelity (default: English Europarl, odd documents)")
    Path evalText;

    @Option(names = "--eval-samples", description = "held-out documents drawn (default ${DEFAULT-VALUE})")
    int evalSamples = 256;

    /** The files given as {@code --tokenizer}, {@code --calibration} and {@code --eval-text}: inputs an output must spare. */
    List<Path> files() {
        return Stream.of(tokenizer, calibration, evalText).filter(Objects::nonNull).toList();
    }

    /** The model file: {@code model}, or the bundled MiniLM extracted to the cache. */
    static Path modelFile(Path model) {
        if (model == null) {
            return MiniLm.modelFile();
        }
        if (!Files.isRegularFile(model)) {
            throw new ThanosjException("--model " + model + " is not a file");
        }
        return model;
    }

    void validate() {
        if (samples < 1) {
            throw new ThanosjException("--samples must be at least 1, got " + samples);
        }
        if (evalSamples < 1) {
            throw new ThanosjException("--eval-samples must be at least 1, got " + evalSamples);
        }
        if (seqLen != null && seqLen < 2) {
            throw new ThanosjException("--seq-len must be at least 2 (room for [CLS] and [SEP]), got " + seqLen);
        }
    }

    Tokenizer openTokenizer() {
        return tokenizer == null ? MiniLm.tokenizer(bertSeqLen()) : Tokenizer.fromFile(tokenizer, bertSeqLen());
    }

    /** Tokens per document for a BERT: {@code --seq-len}, default {@value Tokenizer#DEFAULT_MAX_LENGTH}. */
    int bertSeqLen() {
        return seqLen == null ? Tokenizer.DEFAULT_MAX_LENGTH : seqLen;
    }

    /** The calibration batch: {@code --samples} documents drawn with {@code --seed}, tokenized. */
    TokenBatch calibrationBatch(Tokenizer tok) {
        List<String> docs = calibration == null ? CalibrationText.defaultCalibration() : CalibrationText.read(calibration);
        return tok.encode(CalibrationText.sample(docs, samples, seed));
    }

    /** The held-out batch: {@code --eval-samples} documents (seed 0 draw), tokenized. */
    TokenBatch evaluationBatch(Tokenizer tok) {
        List<String> docs = evalText == null ? CalibrationText.defaultEvaluation() : CalibrationText.read(evalText);
        return tok.encode(CalibrationText.sample(docs, evalSamples, 0));
    }

    /** The calibration text as one string (documents separated by blank lines), for decoder models. */
    String calibrationText() {
        return calibration == null ? String.join("\n\n", CalibrationText.defaultCalibration())
                : String.join("\n\n", CalibrationText.read(calibration));
    }

    /** Where the calibration text came from, for reports. */
    String calibrationSource() {
        return calibration == null ? "europarl-en (even documents)" : calibration.toString();
    }

    /** Checks that the tokenizer's vocabulary fits the encoder (a wrong --tokenizer is a user error). */
    static void requireCompatible(BertEncoder encoder, TokenBatch batch, Path modelFile) {
        int vocab = encoder.config().vocabSize();
        for (int s = 0; s < batch.size(); s++) {
            for (int t = 0; t < batch.length(s); t++) {
                if (batch.id(s, t) >= vocab) {
                    throw new ThanosjException("token id " + batch.id(s, t) + " is outside the vocabulary of "
                            + modelFile + " (" + vocab + "); use the model's own --tokenizer");
                }
            }
        }
    }
}
