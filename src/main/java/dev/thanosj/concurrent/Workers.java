package dev.thanosj.concurrent;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The library's worker pool for row-parallel loops; its size is set once per process or run. */
public final class Workers {
    private static volatile ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());

    private Workers() {
    }

    /** Number of worker threads. */
    public static int threads() {
        return pool.getParallelism();
    }

    /** Replaces the pool with one of {@code threads} workers (≥ 1); running loops finish on the old one. */
    public static synchronized void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (threads != pool.getParallelism()) {
            ForkJoinPool old = pool;
            pool = new ForkJoinPool(threads);
            old.shutdown();
        }
    }

    /** Runs {@code body(i)} for every {@code i} in {@code [0, n)} on the pool and waits for all of them. */
    public static void parallelFor(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        if (n == 1 || threads() == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }
}
