package dev.thanosj.prune;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The off-heap working memory of {@link Pruner} in this process: bytes currently allocated by pruning runs
 * (factors, copies, scratch; not the caller's weights and statistics) and the peak since the last
 * {@link #resetPeak()}. For benchmarks and tests that check the memory bound of a run.
 */
public final class PruneMemory {
    private static final AtomicLong CURRENT = new AtomicLong();
    private static final AtomicLong PEAK = new AtomicLong();

    private PruneMemory() {
    }

    static void allocated(long bytes) {
        long now = CURRENT.addAndGet(bytes);
        PEAK.accumulateAndGet(now, Math::max);
    }

    static void freed(long bytes) {
        CURRENT.addAndGet(-bytes);
    }

    /** Bytes allocated by pruning runs and not yet freed. */
    public static long currentBytes() {
        return CURRENT.get();
    }

    /** The largest {@link #currentBytes()} seen since the last reset. */
    public static long peakBytes() {
        return PEAK.get();
    }

    /** Starts a new peak measurement from the current allocation. */
    public static void resetPeak() {
        PEAK.set(CURRENT.get());
    }
}
