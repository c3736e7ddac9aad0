package dev.thanosj.kernels;

import jdk.incubator.vector.FloatVector;

/**
 * The only place that touches the Vector API while deciding whether to use it. Loaded by
 * {@link VectorSupport} only after it has seen {@code jdk.incubator.vector} in the boot layer, so a JVM
 * started without {@code --add-modules=jdk.incubator.vector} never resolves this class.
 */
final class PanamaProbe {
    private PanamaProbe() {
    }

    /** Bit size of the preferred float species on this CPU (128, 256 or 512 on x86-64). */
    static int preferredBitSize() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }
}
