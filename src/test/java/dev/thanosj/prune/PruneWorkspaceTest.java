package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Reuse, zeroing, freeing and accounting of {@link PruneWorkspace}, alone and under {@link Pruner}. */
class PruneWorkspaceTest {

    @Test
    void aLaterRequestReusesAnIdleBufferZeroedAndAllocatesNothing() {
        long before = PruneMemory.currentBytes();
        try (PruneWorkspace workspace = new PruneWorkspace()) {
            try (CountingArena arena = new CountingArena(workspace)) {
                arena.allocate(4096, 64).fill((byte) 7);
            }
            assertEquals(4096, workspace.bytes());
            try (CountingArena arena = new CountingArena(workspace)) {
                MemorySegment again = arena.allocate(1000, 64); // the smallest idle buffer that fits
                for (long i = 0; i < again.byteSize(); i++) {
                    assertEquals(0, again.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i), "byte " + i);
                }
                assertEquals(1000, again.byteSize());
            }
            assertEquals(4096, workspace.bytes());
            assertEquals(before + 4096, PruneMemory.currentBytes());
        }
        assertEquals(before, PruneMemory.currentBytes(), "close frees every buffer");
    }

    @Test
    void idleBuffersTooSmallForANewRequestAreFreedBeforeItIsAllocated() {
        try (PruneWorkspace workspace = new PruneWorkspace()) {
            try (CountingArena arena = new CountingArena(workspace)) {
                arena.allocate(100, 8);
                arena.allocate(200, 8);
            }
            try (CountingArena arena = new CountingArena(workspace)) {
                arena.allocate(150, 8); // takes the 200-byte buffer
                arena.allocate(1000, 8); // the idle 100-byte buffer cannot serve it: freed, then 1000 allocated
                assertEquals(1200, workspace.bytes());
            }
        }
    }

    @Test
    void aNestedArenaGivesBackOnlyItsOwnBuffers() {
        try (PruneWorkspace workspace = new PruneWorkspace(); CountingArena outer = new CountingArena(workspace)) {
            MemorySegment kept = outer.allocate(64, 8);
            try (CountingArena inner = outer.nested()) {
                inner.allocate(64, 8);
            }
            kept.fill((byte) 1);
            MemorySegment next = outer.allocate(64, 8); // reuses the inner one's buffer, not the outer's
            next.fill((byte) 2);
            assertEquals(1, kept.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertEquals(128, workspace.bytes());
        }
    }

    @Test
    void aClosedWorkspaceRefusesRequests() {
        PruneWorkspace workspace = new PruneWorkspace();
        workspace.close();
        assertThrows(IllegalStateException.class, () -> workspace.take(8, 8));
    }

    @Test
    void pruningTwiceWithOneWorkspaceGivesTheSameResultAsFreshMemoryAndAllocatesOnce() {
        int rows = 48;
        int cols = 96;
        SplittableRandom random = new SplittableRandom(3);
        Arena arena = Arena.ofAuto();
        FloatMatrix w = FloatMatrix.allocate(arena, rows, cols);
        try (LayerStatistics stats = LayerStatistics.create(cols, true)) {
            FloatMatrix x = FloatMatrix.allocate(arena, 256, cols);
            for (int r = 0; r < 256; r++) {
                for (int c = 0; c < cols; c++) {
                    x.set(r, c, (float) random.nextGaussian());
                    if (r < rows) {
                        w.set(r, c, (float) random.nextGaussian());
                    }
                }
            }
            stats.addBatch(x, 1);
            for (PruneSpec spec : new PruneSpec[] {PruneSpec.of(Method.THANOS, new Pattern.Unstructured(0.6)),
                    PruneSpec.of(Method.SPARSEGPT, new Pattern.NOfM(2, 4)),
                    PruneSpec.of(Method.THANOS, new Pattern.Structured(0.25))}) {
                FloatMatrix fresh = w.copy(arena);
                Pruner.prune("fresh", fresh, stats, spec);
                try (PruneWorkspace workspace = new PruneWorkspace()) {
                    long held = -1;
                    for (int run = 0; run < 3; run++) {
                        FloatMatrix reused = w.copy(arena);
                        Pruner.prune("reused", reused, stats, spec, workspace);
                        for (int r = 0; r < rows; r++) {
                            for (int c = 0; c < cols; c++) {
                                assertEquals(fresh.get(r, c), reused.get(r, c),
                                        spec + " run " + run + " [" + r + ", " + c + "]");
                            }
                        }
                        if (run > 0) {
                            assertEquals(held, workspace.bytes(), spec + ": run " + run + " allocated again");
                        }
                        held = workspace.bytes();
                    }
                }
            }
        }
    }
}
