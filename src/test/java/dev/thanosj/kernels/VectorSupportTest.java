package dev.thanosj.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import org.junit.jupiter.api.Test;

/** The decision ladder of {@link VectorSupport}, with the detected facts given. */
class VectorSupportTest {

    @Test
    void theTestJvmHasTheModule() {
        // surefire starts the JVM with --add-modules=jdk.incubator.vector
        VectorSupport.Status status = VectorSupport.status();
        assertTrue(status.modulePresent());
        assertTrue(status.preferredBitSize() >= 64, status.describe());
    }

    @Test
    void usedByDefaultWhenPresentAndWideEnough() {
        VectorSupport.Status status = VectorSupport.decide(null, true, () -> 256);
        assertTrue(status.usePanama());
        assertEquals("used, preferred species 256-bit (8 floats) (default)", status.describe());
    }

    @Test
    void fallsBackWhenAbsentOrNarrow() {
        assertFalse(VectorSupport.decide("", false, () -> {
            throw new AssertionError("the probe must not run without the module");
        }).usePanama());
        VectorSupport.Status narrow = VectorSupport.decide(null, true, () -> 64);
        assertFalse(narrow.usePanama());
        assertTrue(narrow.reason().startsWith("fallback: "), narrow.reason());
    }

    @Test
    void forcedChoices() {
        assertFalse(VectorSupport.decide("scalar", true, () -> 512).usePanama());
        assertTrue(VectorSupport.decide(" Panama ", true, () -> 512).usePanama());
        ThanosjException absent = assertThrows(ThanosjException.class,
                () -> VectorSupport.decide("panama", false, () -> 0));
        assertTrue(absent.getMessage().contains("--add-modules=jdk.incubator.vector"), absent.getMessage());
        assertThrows(ThanosjException.class, () -> VectorSupport.decide("avx", true, () -> 512));
    }
}
