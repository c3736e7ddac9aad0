package dev.thanosj.kernels;

import dev.thanosj.ThanosjException;
import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Chooses the {@link Kernels} once per process on the ladder of {@link VectorSupport}: the Vector API
 * kernels when {@code jdk.incubator.vector} is in the boot layer and the preferred species is at least 128
 * bits, the scalar kernels otherwise; {@code -Dthanosj.kernels=scalar|panama} forces, and a forced
 * {@code panama} that cannot load fails loudly. As for {@link ActivationsProvider}, the Vector API kernels
 * also need hardware FMA (they call {@code fma} directly: a helper that chose between FMA and multiply-add
 * was at times compiled on its own, and C2 then refused to inline it into the batched Cholesky, boxing
 * every vector: 2x slower); without it the scalar kernels are used. The choice is logged once.
 */
public final class KernelsProvider {
    private static final System.Logger LOG = System.getLogger(KernelsProvider.class.getName());

    private KernelsProvider() {
    }

    private static final class Holder {
        static final Kernels INSTANCE;
        static final RuntimeException FAILURE;

        static {
            Kernels chosen = null;
            RuntimeException failure = null;
            try {
                VectorSupport.Status status = VectorSupport.status();
                boolean fma = VectorSupport.hardwareFma();
                chosen = create(status.usePanama() && fma ? "panama" : "scalar");
                LOG.log(Level.INFO, "kernels=" + chosen.description() + " (" + status.reason()
                        + (status.usePanama() && !fma ? "; no hardware FMA" : "") + ")");
            } catch (RuntimeException e) {
                failure = e;
            }
            INSTANCE = chosen;
            FAILURE = failure;
        }
    }

    /** The kernels of this process; throws (every call) when a forced choice could not load. */
    public static Kernels get() {
        if (Holder.FAILURE != null) {
            throw new ThanosjException(Holder.FAILURE.getMessage(), Holder.FAILURE);
        }
        return Holder.INSTANCE;
    }

    /** Kept apart so that {@code PanamaKernels} is only resolved when it is really created. */
    private static Kernels panama() {
        return new PanamaKernels();
    }

    /**
     * A new instance of the named kernels ({@code scalar} or {@code panama}), outside the process-wide
     * choice; for tests and benchmarks that compare them in one JVM.
     *
     * @throws ThanosjException for {@code panama} without the Vector API module or without hardware FMA
     */
    public static Kernels create(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "scalar" -> new ScalarKernels();
            case "panama" -> {
                if (!ModuleLayer.boot().findModule(VectorSupport.MODULE).isPresent()) {
                    throw new ThanosjException("panama kernels need --add-modules=" + VectorSupport.MODULE);
                }
                if (!VectorSupport.hardwareFma()) {
                    throw new ThanosjException("panama kernels need hardware FMA (HotSpot reports -XX:-UseFMA)");
                }
                yield panama();
            }
            default -> throw new ThanosjException("'" + name + "' is not a kernels provider; use scalar or panama");
        };
    }
}
