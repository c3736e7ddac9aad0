package dev.thanosj.linalg;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs native LAPACK calls on daemon threads created with a {@value #STACK_BYTES}-byte stack. Native code
 * runs on the calling thread's stack, and some OpenBLAS routines need more of it than a Java thread has
 * (its threaded LU needs over 3 MB): overflowing it kills the JVM with SIGSEGV and no hs_err file. The
 * pool has one thread per processor, created on first use and kept (OpenBLAS keeps per-thread buffers,
 * so the set of threads calling it stays bounded).
 *
 * <p>The caller waits for the call, uninterruptibly: the native code uses the caller's memory, which must
 * stay alive until it returns. Segments of a confined arena cannot be passed to a downcall from another
 * thread; {@link #forThisThread} hands the pool thread an unchecked view of them, which is safe because
 * only the owner thread could close that arena and it is blocked in {@link #run} meanwhile.
 */
final class LargeStackExecutor {
    /** Stack size of the pool's threads: 64 MB, measured to be ample for every OpenBLAS LAPACK routine. */
    static final long STACK_BYTES = 64L << 20;

    private static final ThreadGroup GROUP = new ThreadGroup("thanosj-large-stack");

    private LargeStackExecutor() {
    }

    /** A native call returning LAPACK's {@code info}. */
    @FunctionalInterface
    interface NativeCall {
        int call() throws Throwable;
    }

    private static final class Holder {
        static final ExecutorService POOL = newPool();

        private static ExecutorService newPool() {
            int threads = Runtime.getRuntime().availableProcessors();
            AtomicInteger count = new AtomicInteger();
            return new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                    task -> {
                        Thread thread = new Thread(GROUP, task, "thanosj-large-stack-" + count.incrementAndGet(),
                                STACK_BYTES);
                        thread.setDaemon(true);
                        return thread;
                    });
        }
    }

    /** True on one of this executor's threads. */
    static boolean onLargeStack() {
        return Thread.currentThread().getThreadGroup() == GROUP;
    }

    /**
     * Runs {@code call} on a large-stack thread (directly when already on one), waits for it even if
     * interrupted (the interrupt status is restored afterwards) and returns its result; modifies nothing itself.
     */
    static int run(NativeCall call) {
        if (onLargeStack()) {
            return invoke(call);
        }
        Future<Integer> result = Holder.POOL.submit(() -> invoke(call));
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof RuntimeException runtime) {
                        throw runtime;
                    }
                    if (cause instanceof Error error) {
                        throw error;
                    }
                    throw new IllegalStateException(cause);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int invoke(NativeCall call) {
        try {
            return call.call();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("native call failed", e);
        }
    }

    /**
     * {@code segment} itself when the current thread may pass it to a downcall, else an unchecked view of the
     * same memory (for a confined segment whose owner is blocked in {@link #run}).
     */
    @SuppressWarnings("restricted") // safe for the reason in the class comment
    static MemorySegment forThisThread(MemorySegment segment) {
        if (segment.isAccessibleBy(Thread.currentThread())) {
            return segment;
        }
        return MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize());
    }
}
