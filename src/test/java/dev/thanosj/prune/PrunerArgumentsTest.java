package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** Arguments {@link Pruner#prune} rejects at its boundary, before any work. */
class PrunerArgumentsTest {

    @Test
    void weightsInAConfinedArenaAreRejectedWithAClearMessage() {
        try (Arena confined = Arena.ofConfined(); LayerStatistics stats = LayerStatistics.create(8, true)) {
            FloatMatrix w = FloatMatrix.allocate(confined, 4, 8);
            FloatMatrix x = FloatMatrix.allocate(confined, 16, 8);
            for (int r = 0; r < 16; r++) {
                for (int c = 0; c < 8; c++) {
                    x.set(r, c, (r * 7 + c * 3) % 5 - 2f);
                    if (r < 4) {
                        w.set(r, c, c - r);
                    }
                }
            }
            stats.addBatch(x.copy(Arena.ofAuto()), 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pruner.prune("layer.q", w, stats,
                    PruneSpec.of(Method.THANOS, new Pattern.Unstructured(0.5))));
            assertTrue(e.getMessage().contains("layer.q") && e.getMessage().contains("confined"), e.getMessage());
        }
    }
}
