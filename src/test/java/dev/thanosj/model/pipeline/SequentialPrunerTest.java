package dev.thanosj.model.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SequentialPrunerTest {

    /**
     * A toy two-block model: A and B read the hidden states h (tokens x 8), C reads relu(h·Bᵀ); a block maps
     * h to h + relu(h·Bᵀ)·Cᵀ with the current weights.
     */
    private static class Toy implements SequentialModel, AutoCloseable {
        final Arena arena = Arena.ofShared();
        final Map<String, FloatMatrix> weights = new HashMap<>();
        final boolean grouped;

        Toy(boolean grouped) {
            this.grouped = grouped;
            SplittableRandom random = new SplittableRandom(7);
            for (int b = 0; b < 2; b++) {
                put(b, "A", 4, 8, random);
                put(b, "B", 8, 8, random);
                put(b, "C", 8, 8, random);
            }
        }

        private void put(int block, String name, int rows, int cols, SplittableRandom random) {
            FloatMatrix w = FloatMatrix.allocate(arena, rows, cols);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    w.set(r, c, (float) random.nextGaussian());
                }
            }
            weights.put(block + name, w);
        }

        LinearRef ref(int block, String name) {
            FloatMatrix w = weights.get(block + name);
            return new LinearRef(block + name, block, w.rows(), w.cols());
        }

        @Override
        public int blocks() {
            return 2;
        }

        @Override
        public List<LinearRef> linears(int block) {
            return List.of(ref(block, "A"), ref(block, "B"), ref(block, "C"));
        }

        @Override
        public List<List<LinearRef>> inputGroups(int block) {
            List<LinearRef> l = linears(block);
            return grouped ? List.of(l.subList(0, 2), l.subList(2, 3)) : SequentialModel.super.inputGroups(block);
        }

        @Override
        public FloatMatrix weight(LinearRef linear, Arena target) {
            return weights.get(linear.name()).copy(target);
        }

        @Override
        public void replaceWeight(LinearRef linear, FloatMatrix weight) {
            weights.get(linear.name()).copyFrom(weight);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static final class ToyPass implements CalibrationPass {
        final Toy toy;
        final Arena arena = Arena.ofShared();
        final FloatMatrix hidden;

        ToyPass(Toy toy) {
            this.toy = toy;
            hidden = FloatMatrix.allocate(arena, 40, 8);
            SplittableRandom random = new SplittableRandom(11);
            for (int r = 0; r < 40; r++) {
                for (int c = 0; c < 8; c++) {
                    hidden.set(r, c, (float) random.nextGaussian());
                }
            }
        }

        private FloatMatrix inner(int block, Arena a) {
            FloatMatrix z = FloatMatrix.allocate(a, hidden.rows(), 8);
            Linalg.get().gemm(false, true, 1f, hidden, toy.weights.get(block + "B"), 0f, z);
            for (int r = 0; r < z.rows(); r++) {
                for (int c = 0; c < z.cols(); c++) {
                    z.set(r, c, Math.max(0f, z.get(r, c)));
                }
            }
            return z;
        }

        @Override
        public void capture(int block, Tap tap) {
            try (Arena a = Arena.ofShared()) {
                for (int half = 0; half < 2; half++) { // two chunks of 20 tokens, one sequence each
                    FloatMatrix h = hidden.rows(half * 20, half * 20 + 20);
                    tap.accept(toy.ref(block, "A"), h, 1);
                    tap.accept(toy.ref(block, "B"), h, 1);
                }
                tap.accept(toy.ref(block, "C"), inner(block, a), 2);
            }
        }

        @Override
        public void advance(int block) {
            try (Arena a = Arena.ofShared()) {
                Linalg.get().gemm(false, true, 1f, inner(block, a), toy.weights.get(block + "C"), 1f, hidden);
            }
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static Map<String, float[]> prune(boolean grouped, PruneSpec spec) {
        Map<String, float[]> out = new HashMap<>();
        try (Toy toy = new Toy(grouped); ToyPass pass = new ToyPass(toy)) {
            SequentialPruner.Report report = SequentialPruner.prune(toy, pass, spec, (b, n, l) -> { });
            assertEquals(6, report.layers().size());
            toy.weights.forEach((name, w) -> {
                float[] values = new float[(int) w.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = w.get(i / w.cols(), i % w.cols());
                }
                out.put(name, values);
            });
        }
        return out;
    }

    @Test
    void sharedStatisticsOfAnInputGroupPruneExactlyAsPerLinearStatistics() {
        for (PruneSpec spec : List.of(PruneSpec.of(Method.THANOS, new Pattern.NOfM(2, 4)).withBlockSize(4),
                PruneSpec.of(Method.SPARSEGPT, new Pattern.Unstructured(0.5)).withBlockSize(4),
                PruneSpec.of(Method.WANDA, new Pattern.Unstructured(0.5)))) {
            Map<String, float[]> separate = prune(false, spec);
            Map<String, float[]> shared = prune(true, spec);
            separate.forEach((name, w) -> {
                float[] s = shared.get(name);
                for (int i = 0; i < w.length; i++) {
                    assertEquals(Float.floatToIntBits(w[i]), Float.floatToIntBits(s[i]),
                            spec.describe() + " " + name + "[" + i + "]");
                }
            });
        }
    }

    @Test
    void groupsThatDoNotPartitionTheBlockAreABug() {
        try (Toy toy = new Toy(false) {
            @Override
            public List<List<LinearRef>> inputGroups(int block) {
                return List.of(linears(block).subList(0, 2));
            }
        }; ToyPass pass = new ToyPass(toy)) {
            assertThrows(IllegalStateException.class, () -> SequentialPruner.prune(toy, pass,
                    PruneSpec.of(Method.WANDA, new Pattern.Unstructured(0.5)), (b, n, l) -> { }));
        }
    }
}
