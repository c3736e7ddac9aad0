package dev.thanosj.prune;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Off-heap buffers kept from one pruning run to the next, so that a run does not pay the operating system
 * for fresh pages: the first touch of 64 MB of new memory costs ≈ 22 ms here (page faults, the kernel's
 * zeroing) against ≈ 2 ms to clear memory already mapped, and on this shared machine now and then 0.3–0.6 s.
 * Give one workspace to every {@link Pruner#prune(String, dev.thanosj.tensor.FloatMatrix, LayerStatistics,
 * PruneSpec, PruneWorkspace) prune} of a sequence of layers; close it to free the memory.
 *
 * <p>Policy: a request gets a zeroed slice of the smallest idle buffer large enough, else a new buffer, and
 * then the idle buffers too small for it are freed first. So a workspace holds no more than the buffers
 * one run had at its peak, whatever the order of the layer shapes, and a run's peak is what it would be
 * with fresh memory. Every buffer is counted in {@link PruneMemory} from its allocation until it is freed.
 * Thread-safe; its buffers are shared segments.
 */
public final class PruneWorkspace implements AutoCloseable {
    /** One buffer: its own arena, so it can be freed alone. */
    static final class Buffer {
        private final Arena arena;
        private final MemorySegment segment;

        private Buffer(Arena arena, MemorySegment segment) {
            this.arena = arena;
            this.segment = segment;
        }

        long bytes() {
            return segment.byteSize();
        }
    }

    private final List<Buffer> live = new ArrayList<>();
    private final List<Buffer> idle = new ArrayList<>();
    private boolean closed;

    /**
     * A buffer of at least {@code byteSize} bytes at an address aligned to {@code byteAlignment}, whose first
     * {@code byteSize} bytes are zero, until {@link #giveBack}.
     */
    synchronized Buffer take(long byteSize, long byteAlignment) {
        if (closed) {
            throw new IllegalStateException("the pruning workspace is closed");
        }
        Buffer best = null;
        for (Buffer b : idle) {
            if (b.bytes() >= byteSize && b.segment.address() % byteAlignment == 0
                    && (best == null || b.bytes() < best.bytes())) {
                best = b;
            }
        }
        if (best != null) {
            idle.remove(best);
            best.segment.asSlice(0, byteSize).fill((byte) 0);
            return best;
        }
        for (Buffer b : List.copyOf(idle)) {
            if (b.bytes() < byteSize) {
                free(b);
                idle.remove(b);
            }
        }
        Arena arena = Arena.ofShared();
        Buffer fresh = new Buffer(arena, arena.allocate(Math.max(1, byteSize), byteAlignment));
        live.add(fresh);
        PruneMemory.allocated(fresh.bytes());
        return fresh;
    }

    /** The first {@code byteSize} bytes of a buffer from {@link #take}. */
    static MemorySegment slice(Buffer buffer, long byteSize) {
        return buffer.segment.asSlice(0, byteSize);
    }

    /** Makes buffers from {@link #take} idle again; their segments must not be used afterwards. */
    synchronized void giveBack(List<Buffer> buffers) {
        if (closed) {
            return;
        }
        idle.addAll(buffers);
    }

    private void free(Buffer b) {
        b.arena.close();
        live.remove(b);
        PruneMemory.freed(b.bytes());
    }

    /** Bytes this workspace holds, idle or in use. */
    public synchronized long bytes() {
        return live.stream().mapToLong(Buffer::bytes).sum();
    }

    /** Frees every buffer, idle or not; a run still using one must have ended. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Buffer b : List.copyOf(live)) {
            free(b);
        }
        idle.clear();
    }
}
