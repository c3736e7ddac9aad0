package dev.thanosj.prune;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A shared arena that counts its bytes in {@link PruneMemory}: every off-heap allocation of a pruning run
 * goes through one of these, so the peak of the run's working memory can be measured exactly (the
 * garbage collector's profilers do not see off-heap memory).
 */
final class CountingArena implements Arena {
    private final Arena arena = Arena.ofShared();
    private final AtomicLong bytes = new AtomicLong();

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        MemorySegment segment = arena.allocate(byteSize, byteAlignment);
        bytes.addAndGet(byteSize);
        PruneMemory.allocated(byteSize);
        return segment;
    }

    @Override
    public MemorySegment.Scope scope() {
        return arena.scope();
    }

    @Override
    public void close() {
        arena.close();
        PruneMemory.freed(bytes.getAndSet(0));
    }
}
