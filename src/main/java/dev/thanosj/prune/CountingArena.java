package dev.thanosj.prune;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The arena of one pruning run (or a part of one): its memory comes from a {@link PruneWorkspace}, which
 * counts every byte in {@link PruneMemory}, so the peak of a run's working memory can be measured exactly
 * (the garbage collector's profilers do not see off-heap memory). Closing it gives the buffers back to the
 * workspace, which frees or reuses them: unlike a plain arena, a closed one does not invalidate its
 * segments, so its callers must not keep them (none outlives the method that opened the arena).
 */
final class CountingArena implements Arena {
    private final PruneWorkspace workspace;
    private final Arena scope = Arena.ofShared();
    private final List<PruneWorkspace.Buffer> taken = new ArrayList<>();

    CountingArena(PruneWorkspace workspace) {
        this.workspace = workspace;
    }

    /** A further arena on the same workspace, for scratch that ends before this one does. */
    CountingArena nested() {
        return new CountingArena(workspace);
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        PruneWorkspace.Buffer buffer = workspace.take(byteSize, byteAlignment);
        synchronized (taken) {
            taken.add(buffer);
        }
        return PruneWorkspace.slice(buffer, byteSize);
    }

    @Override
    public MemorySegment.Scope scope() {
        return scope.scope();
    }

    @Override
    public void close() {
        scope.close();
        synchronized (taken) {
            workspace.giveBack(taken);
            taken.clear();
        }
    }
}
