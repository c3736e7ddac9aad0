package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.model.bert.Fidelity;
import dev.thanosj.model.bert.BertPruning;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.pipeline.CalibrationPass;
import dev.thanosj.model.pipeline.SequentialPruner;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.tensor.FloatMatrix;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code thanosj compare}: every method × pattern on the same model, calibration and held-out text, in one
 * table of fidelity (mean cosine to the dense model, Java forward), sparsity and time. Nothing is written.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Prune the same model with several methods and patterns; print one table.")
final class CompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE.onnx", description = "the model (default: bundled MiniLM)")
    Path model;

    @Option(names = "--methods", split = ",", description = "default: ${DEFAULT-VALUE}")
    List<String> methods = List.of("thanos", "sparsegpt", "wanda", "magnitude");

    @Option(names = "--patterns", split = ",",
            description = "ratios (0.5), n:m (2:4) or structured ratios (s0.3); default: ${DEFAULT-VALUE}")
    List<String> patterns = List.of("0.5", "2:4", "4:8", "s0.3");

    @Option(names = "--alpha", description = "outlier rows for structured patterns (default 0.1; n:m 0)")
    Double alpha;

    @Option(names = "--block-size", description = "default ${DEFAULT-VALUE}")
    int blockSize = PruneSpec.DEFAULT_BLOCK_SIZE;

    @Option(names = "--json", description = "print one JSON object instead of the table")
    boolean json;

    @Mixin
    TextOptions job;

    /** One cell of the comparison. */
    record Row(String method, String pattern, String spec, Double fidelity, Double sparsity, Double seconds, String note) {
    }

    @Override
    public Integer call() {
        job.validate();
        List<Method> ms = methods.stream().map(Method::parse).toList();
        List<Pattern> ps = patterns.stream().map(CompareCommand::parsePattern).toList();
        Path modelFile = TextOptions.modelFile(model);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Row> rows = new ArrayList<>();
        try (Tokenizer tok = job.openTokenizer();
             OnnxModel onnx = OnnxModel.open(modelFile);
             BertEncoder encoder = BertEncoder.of(onnx);
             Arena arena = Arena.ofShared()) {
            TokenBatch calibration = job.calibrationBatch(tok);
            TokenBatch heldOut = job.evaluationBatch(tok);
            TextOptions.requireCompatible(encoder, calibration, modelFile);
            TextOptions.requireCompatible(encoder, heldOut, modelFile);
            FloatMatrix dense = encoder.sentenceEmbeddings(heldOut, arena, BertEncoder.DENSE); // once for all rows
            for (Pattern p : ps) {
                for (Method m : ms) {
                    PruneSpec s;
                    try {
                        PruneSpec base = PruneSpec.of(m, p);
                        double a = alpha == null || !(p instanceof Pattern.Structured) ? base.alpha() : alpha;
                        s = new PruneSpec(m, p, a, blockSize, base.percDamp());
                    } catch (ThanosjException e) {
                        rows.add(new Row(m.id(), p.toString(), null, null, null, null, e.getMessage()));
                        continue;
                    }
                    if (!json) {
                        err.printf(Locale.ROOT, "thanosj: %s ...%n", s.describe());
                    }
                    try (BertPruning pruning = new BertPruning(encoder);
                         CalibrationPass pass = pruning.calibration(calibration)) {
                        SequentialPruner.Report report = SequentialPruner.prune(pruning, pass, s, (b, n, l) -> { });
                        double fidelity;
                        try (Arena scratch = Arena.ofShared()) {
                            fidelity = Fidelity.meanCosine(encoder.sentenceEmbeddings(heldOut, scratch, pruning.weights()), dense);
                        }
                        rows.add(new Row(m.id(), p.toString(), s.describe(), fidelity, report.sparsity(), report.seconds(), null));
                    }
                }
            }
            print(out, rows, calibration.size(), heldOut.size());
        }
        return Main.OK;
    }

    private void print(PrintWriter out, List<Row> rows, int calibrationDocs, int heldOutDocs) {
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("calibration", Map.of("text", job.calibrationSource(), "samples", calibrationDocs, "seed", job.seed));
            o.put("heldOutDocuments", heldOutDocs);
            o.put("results", rows);
            out.println(Reports.json(o, false));
            return;
        }
        out.printf(Locale.ROOT, "fidelity = mean cosine to the dense model on %d held-out documents; calibration: %d"
                + " documents of %s%n", heldOutDocs, calibrationDocs, job.calibrationSource());
        out.printf(Locale.ROOT, "%-10s %-16s %9s %9s %9s%n", "method", "pattern", "fidelity", "sparsity", "seconds");
        for (Row r : rows) {
            if (r.fidelity() == null) {
                out.printf(Locale.ROOT, "%-10s %-16s %9s   (%s)%n", r.method(), r.pattern(), "n/a", r.note());
            } else {
                out.printf(Locale.ROOT, "%-10s %-16s %9.4f %9.4f %9.1f%n", r.method(), r.pattern(), r.fidelity(),
                        r.sparsity(), r.seconds());
            }
        }
    }

    /** {@code 0.5}, {@code 2:4}, or {@code s0.3} for structured; a bad value is an error naming {@code --patterns}. */
    static Pattern parsePattern(String text) {
        String t = text.trim();
        try {
            return t.startsWith("s") ? Pattern.parse(t.substring(1), true) : Pattern.parse(t, false);
        } catch (ThanosjException e) {
            throw new ThanosjException("--patterns " + text + ": " + e.getMessage().replaceFirst("^--sparsity ", ""), e);
        }
    }
}
