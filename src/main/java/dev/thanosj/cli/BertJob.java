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
import picocli.CommandLine.Option;

/**
 * The inputs of the BERT (ONNX) commands: the model file (default: the bundled MiniLM), its tokenizer,
 * and the calibration and evaluation text (default: the English Europarl documents, split so the two never
 * share a document).
 */
final class BertJob {
    @Option(names = "--tokenizer", paramLabel = "tokenizer.json",
            description = "the model's tokenizer (default: the bundled MiniLM's)")
    Path tokenizer;

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "calibration text, one document per non-empty line (default: English Europarl, even documents)")
    Path calibration;

    @Option(names = "--samples", description = "calibration documents drawn (default ${DEFAULT-VALUE})")
    int samples = 128;

    @Option(names = "--seq-len", description = "tokens per document at most (default ${DEFAULT-VALUE})")
    int seqLen = Tokenizer.DEFAULT_MAX_LENGTH;

    @Option(names = "--seed", description = "seed of the calibration draw (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--eval-text", paramLabel = "FILE",
            description = "held-out text for the fidelity (default: English Europarl, odd documents)")
    Path evalText;

    @Option(names = "--eval-samples", description = "held-out documents drawn (default ${DEFAULT-VALUE})")
    int evalSamples = 256;

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
        if (seqLen < 2) {
            throw new ThanosjException("--seq-len must be at least 2 (room for [CLS] and [SEP]), got " + seqLen);
        }
    }

    Tokenizer openTokenizer() {
        return tokenizer == null ? MiniLm.tokenizer(seqLen) : Tokenizer.fromFile(tokenizer, seqLen);
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
