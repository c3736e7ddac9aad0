package dev.thanosj.kernels;

import dev.thanosj.ThanosjException;
import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Chooses the {@link Activations} once per process on the ladder of {@link VectorSupport}, as
 * {@link KernelsProvider} chooses the {@link Kernels}: the Vector API implementation when
 * {@code jdk.incubator.vector} is in the boot layer and the preferred species is at least 128 bits, the
 * scalar one otherwise; {@code -Dthanosj.kernels=scalar|panama} forces both, and a forced {@code panama}
 * that cannot load fails loudly. One more rung: the Vector API activations evaluate their polynomials with
 * FMA throughout, so where HotSpot reports no hardware FMA ({@code -XX:-UseFMA}, or a CPU without it) the
 * scalar ones are used, even under {@code -Dthanosj.kernels=panama} (a vector FMA without hardware support
 * runs as slow Java). The choice is logged once, at DEBUG (the kernels' INFO line already says the rest).
 */
public final class ActivationsProvider {
    private static final System.Logger LOG = System.getLogger(ActivationsProvider.class.getName());

    private ActivationsProvider() {
    }

    private static final class Holder {
        static final Activations INSTANCE;
        static final RuntimeException FAILURE;

        static {
            Activations chosen = null;
            RuntimeException failure = null;
            try {
                VectorSupport.Status status = VectorSupport.status();
                boolean fma = VectorSupport.hardwareFma();
                chosen = create(status.usePanama() && fma ? "panama" : "scalar");
                LOG.log(Level.DEBUG, "activations=" + chosen + " (" + status.reason()
                        + (status.usePanama() && !fma ? "; no hardware FMA" : "") + ")");
            } catch (RuntimeException e) {
                failure = e;
            }
            INSTANCE = chosen;
            FAILURE = failure;
        }
    }

    /** The activations of this process; throws (every call) when a forced choice could not load. */
    public static Activations get() {
        if (Holder.FAILURE != null) {
            throw new ThanosjException(Holder.FAILURE.getMessage(), Holder.FAILURE);
        }
        return Holder.INSTANCE;
    }

    /** Kept apart so that {@code PanamaActivations} is only resolved when it is really created. */
    private static Activations panama() {
        return new PanamaActivations();
    }

    /**
     * A new instance of the named implementation ({@code scalar} or {@code panama}), outside the
     * process-wide choice; for tests and benchmarks that compare them in one JVM.
     *
     * @throws ThanosjException for {@code panama} without the Vector API module or without hardware FMA
     */
    public static Activations create(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "scalar" -> new ScalarActivations();
            case "panama" -> {
                if (!ModuleLayer.boot().findModule(VectorSupport.MODULE).isPresent()) {
                    throw new ThanosjException("panama activations need --add-modules=" + VectorSupport.MODULE);
                }
                if (!VectorSupport.hardwareFma()) {
                    throw new ThanosjException("panama activations need hardware FMA (HotSpot reports -XX:-UseFMA)");
                }
                yield panama();
            }
            default -> throw new ThanosjException("'" + name + "' is not an activations provider; use scalar or panama");
        };
    }
}
