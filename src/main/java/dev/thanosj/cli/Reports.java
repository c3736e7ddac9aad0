package dev.thanosj.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thanosj.io.AtomicOutput;
import dev.thanosj.model.pipeline.SequentialPruner;
import dev.thanosj.prune.PruneResult;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Tables and JSON files the commands print and write. */
final class Reports {
    static final ObjectMapper JSON = new ObjectMapper();

    private Reports() {
    }

    /** One line per pruned Linear: name, shape, sparsity, relative loss, seconds. */
    static void printLayers(PrintWriter out, SequentialPruner.Report report) {
        out.printf(Locale.ROOT, "%-40s %11s %9s %12s %8s%n", "linear", "shape", "sparsity", "rel. loss", "seconds");
        for (SequentialPruner.LayerReport l : report.layers()) {
            PruneResult r = l.result();
            out.printf(Locale.ROOT, "%-40s %11s %9.4f %12.4g %8.2f%n", l.name(), r.rows() + "x" + r.cols(), r.sparsity(),
                    r.relativeLoss(), r.totalSeconds());
        }
    }

    /** Writes {@code value} as indented JSON to {@code file}, atomically. */
    static void writeJson(Path file, Object value) {
        AtomicOutput.writeFile(file, tmp -> Files.writeString(tmp, json(value, true) + "\n"));
    }

    /** {@code value} as JSON, indented or on one line. */
    static String json(Object value, boolean indent) {
        try {
            return indent ? JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value) : JSON.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a report", e);
        }
    }
}
