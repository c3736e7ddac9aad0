package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.model.bert.BertEvaluation;
import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.llama.LlamaModel;
import dev.thanosj.model.llama.LlamaTokenizer;
import dev.thanosj.model.llama.Perplexity;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.text.CalibrationText;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code thanosj eval}: how close a pruned ONNX BERT stays to its dense reference on held-out text —
 * sentence-embedding fidelity by the Java forward and by ONNX Runtime, the Linears' sparsity, and per Linear
 * the relative output error on the inputs it sees in the dense model.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a pruned model against its dense reference.")
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PRUNED.onnx|DIR",
            description = "the pruned ONNX BERT, or a decoder checkpoint folder (then: perplexity on --text)")
    Path model;

    @Option(names = "--reference", paramLabel = "DENSE.onnx", description = "the dense model (default: bundled MiniLM)")
    Path reference;

    @Option(names = "--text", paramLabel = "FILE",
            description = "held-out text, one document per line (default: English Europarl, odd documents)")
    Path text;

    @Option(names = "--samples", description = "documents drawn from the text (default ${DEFAULT-VALUE})")
    int samples = 256;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "default: the bundled MiniLM's")
    Path tokenizer;

    @Option(names = "--seq-len", description = "tokens per document (BERT, default 128) or per window (decoder"
            + " models, default min(2048, the model's maximum))")
    Integer seqLen;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Override
    public Integer call() {
        if (Files.isDirectory(model)) {
            return perplexity();
        }
        int bertSeqLen = seqLen == null ? Tokenizer.DEFAULT_MAX_LENGTH : seqLen;
        Path modelFile = TextOptions.modelFile(model);
        Path referenceFile = TextOptions.modelFile(reference);
        if (samples < 1) {
            throw new ThanosjException("--samples must be at least 1, got " + samples);
        }
        PrintWriter out = spec.commandLine().getOut();
        List<String> docs = text == null ? CalibrationText.defaultEvaluation() : CalibrationText.read(text);
        try (Tokenizer tok = tokenizer == null ? dev.thanosj.model.bert.MiniLm.tokenizer(bertSeqLen)
                : Tokenizer.fromFile(tokenizer, bertSeqLen);
             OnnxModel prunedOnnx = OnnxModel.open(modelFile);
             OnnxModel denseOnnx = OnnxModel.open(referenceFile);
             BertEncoder pruned = BertEncoder.of(prunedOnnx);
             BertEncoder dense = BertEncoder.of(denseOnnx)) {
            requireSameLinears(pruned, dense, modelFile, referenceFile);
            TokenBatch batch = tok.encode(CalibrationText.sample(docs, samples, 0));
            TextOptions.requireCompatible(dense, batch, referenceFile);
            double javaFidelity = BertEvaluation.javaFidelity(pruned, dense, batch);
            double ortFidelity = BertEvaluation.ortFidelity(modelFile, referenceFile, batch, Workers.threads()); // --threads
            double sparsity = BertEvaluation.sparsity(pruned);
            Map<String, Double> losses = BertEvaluation.layerLosses(pruned, dense, batch);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("model", modelFile.toString());
                o.put("reference", referenceFile.toString());
                o.put("documents", batch.size());
                o.put("fidelity", javaFidelity);
                o.put("fidelityOnnxRuntime", ortFidelity);
                o.put("sparsity", sparsity);
                o.put("layerLosses", losses);
                out.println(Reports.json(o, false));
            } else {
                out.printf(Locale.ROOT, "%-40s %12s%n", "linear", "rel. error");
                losses.forEach((name, loss) -> out.printf(Locale.ROOT, "%-40s %12.4g%n", name, loss));
                out.printf(Locale.ROOT, "sparsity of the Linears %.4f%n", sparsity);
                out.printf(Locale.ROOT, "fidelity (mean cosine to %s, %d documents): java %.4f, onnxruntime %.4f%n",
                        referenceFile.getFileName(), batch.size(), javaFidelity, ortFidelity);
            }
        }
        return Main.OK;
    }

    /**
     * Perplexity of a decoder checkpoint folder on {@code --text} (default: the English Europarl held-out
     * documents): non-overlapping windows of {@code --seq-len} tokens, {@code exp(mean cross-entropy)}.
     */
    private int perplexity() {
        PrintWriter out = spec.commandLine().getOut();
        try (LlamaModel llama = LlamaModel.open(model); LlamaTokenizer tok = LlamaTokenizer.open(model)) {
            int windowLength = llama.config().seqLen(seqLen);
            String source = text == null ? "europarl-en (odd documents)" : text.toString();
            int[] tokens = tok.encode(String.join("\n\n",
                    text == null ? CalibrationText.defaultEvaluation() : CalibrationText.read(text)));
            Perplexity.Result r = Perplexity.evaluate(llama, tokens, windowLength, source, (done, total) -> { });
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("model", model.toString());
                o.put("text", source);
                o.put("seqLen", windowLength);
                o.put("perplexity", r.perplexity());
                o.put("windows", r.windows());
                o.put("tokens", r.tokens());
                o.put("seconds", r.seconds());
                out.println(Reports.json(o, false));
            } else {
                out.printf(Locale.ROOT, "perplexity %.4f on %s (%d windows of %d tokens, %d predicted tokens, %.1f s)%n",
                        r.perplexity(), source, r.windows(), windowLength, r.tokens(), r.seconds());
            }
        }
        return Main.OK;
    }

    private static void requireSameLinears(BertEncoder pruned, BertEncoder dense, Path prunedFile, Path denseFile) {
        List<OnnxLinear> a = pruned.linears();
        List<OnnxLinear> b = dense.linears();
        boolean same = a.size() == b.size();
        for (int i = 0; same && i < a.size(); i++) {
            same = a.get(i).label().equals(b.get(i).label()) && a.get(i).inFeatures() == b.get(i).inFeatures()
                    && a.get(i).outFeatures() == b.get(i).outFeatures();
        }
        if (!same) {
            throw new ThanosjException(prunedFile + " and " + denseFile + " do not have the same Linears;"
                    + " --reference must be the model that was pruned");
        }
    }
}
