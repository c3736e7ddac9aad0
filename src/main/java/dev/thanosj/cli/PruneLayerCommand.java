package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.io.AtomicOutput;
import dev.thanosj.model.safetensors.SafetensorsFile;
import dev.thanosj.model.safetensors.SafetensorsWriter;
import dev.thanosj.model.safetensors.TensorInfo;
import dev.thanosj.prune.LayerStatistics;
import dev.thanosj.prune.PruneResult;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.prune.Pruner;
import dev.thanosj.tensor.FloatMatrix;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
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
 * {@code thanosj prune-layer}: prunes the one matrix of a safetensors file. The input holds {@code weight}
 * {@code [rows, cols]} and either {@code inputs} {@code [tokens, cols]} (one sequence) or {@code hessian}
 * {@code [cols, cols]} with {@code scaler} {@code [cols]}; the output holds the pruned {@code weight} in the
 * input's dtype and the report as JSON in {@code __metadata__.report}, written atomically.
 */
@Command(name = "prune-layer", mixinStandardHelpOptions = true,
        description = "Prune one weight matrix stored in a safetensors file.")
final class PruneLayerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "IN.safetensors",
            description = "weight [rows, cols] and inputs [tokens, cols], or hessian [cols, cols] and scaler [cols]")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "the pruned weight")
    Path output;

    @Mixin
    SpecOptions specOptions;

    @Override
    public Integer call() {
        PruneSpec pruneSpec = specOptions.spec();
        AtomicOutput.requireDistinct(input, output, "--output");
        PrintWriter out = spec.commandLine().getOut();
        try (SafetensorsFile file = SafetensorsFile.open(input); Arena arena = Arena.ofShared()) { // the pruner's workers read it
            String name = input.getFileName().toString();
            TensorInfo weightInfo = requireRank2(file, name, "weight");
            FloatMatrix weight = file.matrix(arena, "weight");
            try (LayerStatistics stats = statistics(file, name, weight.cols())) {
                PruneResult result = Pruner.prune(name + ": tensor 'weight'", weight, stats, pruneSpec);
                String report = Reports.json(result, false);
                SafetensorsWriter.write(output, List.of(new SafetensorsWriter.FromMatrix("weight", weight,
                        weightInfo.dtype())), Map.of("report", report));
                printSummary(out, result);
            }
        }
        return Main.OK;
    }

    private static TensorInfo requireRank2(SafetensorsFile file, String name, String tensor) {
        if (!file.has(tensor)) {
            throw new ThanosjException(name + ": no tensor '" + tensor + "' (has: " + String.join(", ", file.names()) + ")");
        }
        TensorInfo info = file.info(tensor);
        if (info.rank() != 2) {
            throw new ThanosjException(name + ": tensor '" + tensor + "' has shape " + info.shapeString()
                    + "; expected rank 2");
        }
        requireFloat(name, info);
        return info;
    }

    private static void requireFloat(String name, TensorInfo info) {
        if (info.dtype() == null) {
            throw new ThanosjException(name + ": tensor '" + info.name() + "' is " + info.dtypeName()
                    + "; expected F32, BF16 or F16");
        }
    }

    private static LayerStatistics statistics(SafetensorsFile file, String name, int cols) {
        if (file.has("inputs")) {
            TensorInfo inputs = requireRank2(file, name, "inputs");
            if (inputs.shape()[1] != cols) {
                throw new ThanosjException(name + ": tensor 'inputs' has " + inputs.shape()[1]
                        + " columns, 'weight' has " + cols + " (inputs must be [tokens, cols])");
            }
            LayerStatistics stats = LayerStatistics.create(cols, true);
            stats.addBatch(file.bytes("inputs"), inputs.dtype(), Math.toIntExact(inputs.shape()[0]), 1);
            return stats;
        }
        if (file.has("hessian") && file.has("scaler")) {
            TensorInfo hessian = requireRank2(file, name, "hessian");
            TensorInfo scaler = file.info("scaler");
            requireFloat(name, scaler);
            long[] h = hessian.shape();
            if (h[0] != cols || h[1] != cols || scaler.rank() != 1 || scaler.shape()[0] != cols) {
                throw new ThanosjException(name + ": 'hessian' " + hessian.shapeString() + " and 'scaler' "
                        + scaler.shapeString() + " must be [" + cols + ", " + cols + "] and [" + cols
                        + "] for a weight with " + cols + " columns");
            }
            try (Arena arena = Arena.ofConfined()) {
                return LayerStatistics.of(file.matrix(arena, "hessian"), file.matrix(arena, "scaler"));
            }
        }
        throw new ThanosjException(name + ": needs tensor 'inputs' [tokens, cols], or 'hessian' [cols, cols] and"
                + " 'scaler' [cols] (has: " + String.join(", ", file.names()) + ")");
    }

    private void printSummary(PrintWriter out, PruneResult r) {
        out.printf(Locale.ROOT, "pruned %s (%dx%d) with %s%n", input, r.rows(), r.cols(), r.spec());
        out.printf(Locale.ROOT, "  sparsity       %.4f (%d zeros; per row %.4f .. %.4f)%n", r.sparsity(), r.zeros(),
                r.rowSparsityMin(), r.rowSparsityMax());
        out.printf(Locale.ROOT, "  relative loss  %.6g%n", r.relativeLoss());
        if (r.percDamp() > 0) {
            out.printf(Locale.ROOT, "  dead inputs    %d, percDamp %.3g (%d retries)%n", r.deadInputs(), r.percDamp(),
                    r.dampingRetries());
        }
        r.seconds().forEach((phase, s) -> out.printf(Locale.ROOT, "  %-14s %.3f s%n", phase, s));
        out.printf(Locale.ROOT, "wrote %s%n", output);
    }
}
