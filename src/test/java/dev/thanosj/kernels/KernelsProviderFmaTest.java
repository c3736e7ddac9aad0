package dev.thanosj.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Without hardware FMA the Vector API kernels are not used (they call {@code fma} directly). */
class KernelsProviderFmaTest {

    @Test
    void withoutFmaTheScalarKernelsAreChosenAndForcingPanamaIsRefused() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process process = new ProcessBuilder(List.of(java, "--add-modules=jdk.incubator.vector", "-XX:-UseFMA",
                "-cp", System.getProperty("java.class.path"), NoFmaCheck.class.getName()))
                .redirectErrorStream(true).start();
        String output;
        try (var in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("kernels scalar"), output);
        assertTrue(output.contains("activations ScalarActivations"), output);
        assertTrue(output.contains("refused: panama kernels need hardware FMA"), output);
    }
}
