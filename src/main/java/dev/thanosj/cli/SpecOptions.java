package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import picocli.CommandLine.Option;

/** The pruning options shared by {@code prune-layer} and {@code prune}: method, pattern and their knobs. */
final class SpecOptions {
    @Option(names = "--method", required = true, description = "thanos, sparsegpt, wanda or magnitude")
    String method;

    @Option(names = "--sparsity", required = true, description = "a ratio in [0, 1) such as 0.5, or n:m such as 2:4")
    String sparsity;

    @Option(names = "--structured", description = "prune whole input columns (thanos, wanda)")
    boolean structured;

    @Option(names = "--alpha", description = "fraction of outlier rows kept dense (default 0.1 structured, else 0)")
    Double alpha;

    @Option(names = "--block-size", description = "columns per block (default ${DEFAULT-VALUE})")
    int blockSize = PruneSpec.DEFAULT_BLOCK_SIZE;

    @Option(names = "--perc-damp", description = "damping as a fraction of mean(diag H) (default ${DEFAULT-VALUE})")
    double percDamp = PruneSpec.DEFAULT_PERC_DAMP;

    /** The validated spec these options describe. */
    PruneSpec spec() {
        return spec(Method.parse(method), pattern());
    }

    /** {@code --sparsity} (with {@code --structured}) as a pattern; a bad value is an error naming the option. */
    private Pattern pattern() {
        try {
            return Pattern.parse(sparsity, structured);
        } catch (ThanosjException e) {
            if (e.getMessage().startsWith("--sparsity")) {
                throw e;
            }
            throw new ThanosjException("--sparsity " + sparsity + ": " + e.getMessage(), e);
        }
    }

    /** A spec for {@code method} and {@code pattern} with these options' knobs. */
    PruneSpec spec(Method m, Pattern p) {
        PruneSpec base = PruneSpec.of(m, p);
        return new PruneSpec(m, p, alpha != null ? alpha : base.alpha(), blockSize, percDamp);
    }
}
