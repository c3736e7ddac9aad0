package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.io.AtomicOutput;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.model.bert.BertEvaluation;
import dev.thanosj.model.bert.BertPruning;
import dev.thanosj.model.llama.LlamaCalibration;
import dev.thanosj.model.llama.LlamaModel;
import dev.thanosj.model.llama.LlamaTokenizer;
import dev.thanosj.model.llama.MemoryPlan;
import dev.thanosj.model.llama.Perplexity;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.pipeline.CalibrationPass;
import dev.thanosj.model.pipeline.SequentialPruner;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import dev.thanosj.prune.PruneSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code thanosj prune}: prunes every Linear of a model block by block on calibration text, writes the
 * pruned model (atomically) and a JSON report next to it, and prints the fidelity to the dense model.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prune a model and evaluate it: an ONNX BERT file (default: the bundled all-MiniLM-L6-v2),"
                + " or a Hugging Face Llama/Mistral/Qwen2 checkpoint folder (then --output is a folder and"
                + " --eval-text gives the perplexity)."})
final class PruneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE.onnx|DIR", description = "the model (default: bundled MiniLM)")
    Path model;

    @Option(names = "--output", required = true, paramLabel = "OUT.onnx", description = "the pruned model")
    Path output;

    @Mixin
    SpecOptions specOptions;

    @Mixin
    TextOptions job;

    @Override
    public Integer call() {
        PruneSpec pruneSpec = specOptions.spec();
        job.validate();
        if (model != null && Files.isDirectory(model)) {
            return pruneDecoder(pruneSpec);
        }
        Path modelFile = TextOptions.modelFile(model);
        requireOutputs(modelFile, false);
        Path reportFile = reportPath(output);
        PrintWriter out = spec.commandLine().getOut();
        try (Tokenizer tok = job.openTokenizer();
             OnnxModel onnx = OnnxModel.open(modelFile);
             BertEncoder encoder = BertEncoder.of(onnx);
             BertPruning pruning = new BertPruning(encoder)) {
            TokenBatch calibration = job.calibrationBatch(tok);
            TextOptions.requireCompatible(encoder, calibration, modelFile);
            SequentialPruner.Report report;
            try (CalibrationPass pass = pruning.calibration(calibration); ProgressBar bar = progressBar(pruning.blocks())) {
                report = SequentialPruner.prune(pruning, pass, pruneSpec, (b, n, layers) -> {
                    bar.step();
                    bar.refresh();
                });
            }
            pruning.save(output);
            TokenBatch heldOut = job.evaluationBatch(tok);
            double javaFidelity = BertEvaluation.javaFidelity(encoder, pruning.weights(), BertEncoder.DENSE, heldOut);
            double ortFidelity = BertEvaluation.ortFidelity(output, modelFile, heldOut, Workers.threads()); // --threads
            Reports.printLayers(out, report);
            out.printf(Locale.ROOT, "%s: sparsity %.4f of the Linears, %.1f s%n", report.spec(), report.sparsity(),
                    report.seconds());
            out.printf(Locale.ROOT, "fidelity (mean cosine to dense, %d held-out documents): java %.4f, onnxruntime %.4f%n",
                    heldOut.size(), javaFidelity, ortFidelity);
            if (Math.abs(javaFidelity - ortFidelity) > BertEvaluation.AGREEMENT) {
                spec.commandLine().getErr().printf(Locale.ROOT,
                        "thanosj: warning: the Java and ONNX Runtime fidelities differ by more than %g%n",
                        BertEvaluation.AGREEMENT);
            }
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("model", modelFile.toString());
            json.put("output", output.toString());
            json.put("spec", report.spec());
            json.put("calibration", Map.of("text", job.calibrationSource(), "samples", calibration.size(),
                    "seqLen", job.bertSeqLen(), "seed", job.seed));
            json.put("fidelity", Map.of("java", javaFidelity, "onnxruntime", ortFidelity, "documents", heldOut.size()));
            json.put("sparsity", report.sparsity());
            json.put("seconds", report.seconds());
            json.put("layers", report.layers());
            Reports.writeJson(reportFile, json);
            out.printf(Locale.ROOT, "wrote %s and %s%n", output, reportFile);
        }
        return Main.OK;
    }

    /** Prunes a Hugging Face decoder checkpoint folder (Llama, Mistral, Qwen2) into the folder {@code --output}. */
    private int pruneDecoder(PruneSpec pruneSpec) {
        requireOutputs(model, true);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (LlamaModel llama = LlamaModel.open(model); LlamaTokenizer tok = LlamaTokenizer.open(model)) {
            int seqLen = llama.config().seqLen(job.seqLen);
            MemoryPlan plan = MemoryPlan.of(llama.config(), job.samples, seqLen);
            err.println(plan.describe());
            plan.check();
            int[] tokens = tok.encode(job.calibrationText());
            List<int[]> windows = LlamaCalibration.windows(tokens, job.samples, seqLen, job.seed, job.calibrationSource());
            SequentialPruner.Report report;
            try (LlamaCalibration pass = LlamaCalibration.of(llama, windows); ProgressBar bar = progressBar(llama.blocks())) {
                report = SequentialPruner.prune(llama, pass, pruneSpec, (b, n, layers) -> {
                    bar.step();
                    bar.refresh();
                });
            }
            llama.save(output);
            Reports.printLayers(out, report);
            out.printf(Locale.ROOT, "%s: sparsity %.4f of the Linears, %.1f s%n", report.spec(), report.sparsity(),
                    report.seconds());
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("model", model.toString());
            json.put("output", output.toString());
            json.put("architecture", llama.config().architecture());
            json.put("spec", report.spec());
            json.put("calibration", Map.of("text", job.calibrationSource(), "samples", windows.size(),
                    "seqLen", seqLen, "seed", job.seed));
            if (job.evalText != null) {
                Perplexity.Result ppl = Perplexity.evaluate(llama, job.evalText, seqLen);
                out.printf(Locale.ROOT, "perplexity on %s: %.4f (%d windows of %d tokens)%n", job.evalText,
                        ppl.perplexity(), ppl.windows(), seqLen);
                json.put("perplexity", ppl);
            }
            json.put("sparsity", report.sparsity());
            json.put("seconds", report.seconds());
            json.put("layers", report.layers());
            Path reportFile = reportPath(output);
            Reports.writeJson(reportFile, json);
            out.printf(Locale.ROOT, "wrote %s and %s%n", output, reportFile);
        }
        return Main.OK;
    }

    /**
     * Checks, before any work, that {@code --output} and its report can be written without touching an input:
     * each goes into an existing folder, the report (and an ONNX output) is not an existing folder, and
     * neither is an input (the model, {@code --tokenizer}, {@code --calibration}, {@code --eval-text}) nor a
     * folder holding one; a folder output must be absent or empty.
     */
    private void requireOutputs(Path modelPath, boolean outputIsFolder) {
        List<Path> inputs = new ArrayList<>(List.of(modelPath));
        inputs.addAll(job.files());
        Path reportFile = reportPath(output);
        for (Path target : List.of(output, reportFile)) {
            String what = target == output ? "--output" : "--output's report";
            Path absolute = target.toAbsolutePath().normalize();
            if (absolute.getParent() == null || !Files.isDirectory(absolute.getParent())) {
                throw new ThanosjException(what + " " + target + ": the folder " + absolute.getParent() + " does not exist");
            }
            if (Files.isDirectory(target) && (target == reportFile || !outputIsFolder)) {
                throw new ThanosjException(what + " " + target + " is a folder; give the path of the file to write");
            }
            for (Path input : inputs) {
                AtomicOutput.requireDistinct(input, target, what);
                if (input.toAbsolutePath().normalize().startsWith(absolute)) {
                    throw new ThanosjException(what + " " + target + " holds the input " + input
                            + "; choose another output path (inputs are never modified)");
                }
            }
        }
        if (outputIsFolder) {
            AtomicOutput.requireReplaceableDirectory(output, "--output");
        }
    }

    /** {@code OUT.onnx} (or a folder {@code OUT}) → {@code OUT.report.json} beside it. */
    static Path reportPath(Path output) {
        String name = output.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        return output.resolveSibling(stem + ".report.json");
    }

    /**
     * A progress bar on stderr (layer i/N, elapsed, ETA); where stderr is not a terminal, one plain line per
     * layer instead of a bar redrawn with carriage returns.
     */
    static ProgressBar progressBar(int blocks) {
        ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName("prune").setInitialMax(blocks)
                .setUnit(" layers", 1).setStyle(ProgressBarStyle.ASCII);
        if (System.console() == null) {
            builder.setConsumer(new DelegatingProgressBarConsumer(line -> System.err.println("thanosj: " + line.strip())))
                    .setUpdateIntervalMillis(Integer.MAX_VALUE);
        } else {
            builder.setConsumer(new ConsoleProgressBarConsumer(System.err)).setUpdateIntervalMillis(250).continuousUpdate();
        }
        return builder.build();
    }
}
