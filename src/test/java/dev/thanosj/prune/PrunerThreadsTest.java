package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Java side of pruning does not depend on how many worker threads split the rows: with the linear
 * algebra on one thread (whose own partitioning may round differently), 1 and 3 workers give bit-identical
 * weights. Rows pruning more than half a block take the complement path by their own mask, not by the
 * batch their range puts them in.
 */
class PrunerThreadsTest {

    @ParameterizedTest
    @ValueSource(strings = {"thanos 0.5", "thanos 3:4", "sparsegpt 0.5", "wanda 0.5"})
    void oneAndThreeWorkersGiveTheSameBits(String spec) {
        String[] parts = spec.split(" ");
        Pattern pattern = parts[1].contains(":")
                ? new Pattern.NOfM(Integer.parseInt(parts[1].split(":")[0]), Integer.parseInt(parts[1].split(":")[1]))
                : new Pattern.Unstructured(Double.parseDouble(parts[1]));
        PruneSpec pruneSpec = new PruneSpec(Method.parse(parts[0]), pattern, 0, 16, PruneSpec.DEFAULT_PERC_DAMP);
        int rows = 97;
        int cols = 80;
        SplittableRandom random = new SplittableRandom(9);
        Arena arena = Arena.ofAuto();
        FloatMatrix w = FloatMatrix.allocate(arena, rows, cols);
        for (int r = 0; r < rows; r++) {
            double scale = 0.2 + 2 * random.nextDouble(); // rows of different scales prune different shares
            for (int c = 0; c < cols; c++) {
                w.set(r, c, (float) (scale * random.nextGaussian()));
            }
        }
        int savedWorkers = Workers.threads();
        Linalg linalg = Linalg.get();
        int savedLinalg = linalg.threads();
        try (LayerStatistics stats = LayerStatistics.create(cols, true)) {
            FloatMatrix x = FloatMatrix.allocate(arena, 300, cols);
            for (int t = 0; t < 300; t++) {
                for (int c = 0; c < cols; c++) {
                    x.set(t, c, (float) random.nextGaussian());
                }
            }
            stats.addBatch(x, 1);
            linalg.setThreads(1);
            FloatMatrix[] out = new FloatMatrix[2];
            int[] workers = {1, 3};
            for (int i = 0; i < 2; i++) {
                Workers.setThreads(workers[i]);
                out[i] = w.copy(arena);
                Pruner.prune("layer", out[i], stats, pruneSpec);
            }
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(Float.floatToRawIntBits(out[0].get(r, c)), Float.floatToRawIntBits(out[1].get(r, c)),
                            spec + " [" + r + ", " + c + "]: " + out[0].get(r, c) + " vs " + out[1].get(r, c));
                }
            }
        } finally {
            Workers.setThreads(savedWorkers);
            linalg.setThreads(savedLinalg);
        }
    }
}
