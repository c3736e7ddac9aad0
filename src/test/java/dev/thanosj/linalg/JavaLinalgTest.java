package dev.thanosj.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * What only the pure-Java provider has: its description, and its correctness with the vector shapes of other
 * machines. The test JVM here has 512-bit vectors and hardware FMA; {@link SmallSpeciesCheck} reruns the
 * contract checks in a child JVM limited to 128- or 256-bit vectors, or without FMA.
 */
class JavaLinalgTest {

    @Test
    void describesItsVectorsAndThreads() {
        JavaLinalg la = new JavaLinalg();
        assertEquals("java", la.name());
        assertTrue(la.description().matches("pure Java \\(Vector API \\d+-bit(, FMA)?\\) threads=\\d+"),
                la.description());
        la.setThreads(3);
        assertTrue(la.description().endsWith("threads=3"), la.description());
    }

    @ParameterizedTest
    @CsvSource({"16, true, 128", "32, true, 256", "64, false, 512"})
    void holdsTheContractWithOtherVectorSizes(int maxVectorBytes, boolean fma, int expectedBits)
            throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector", "-ea",
                "-XX:MaxVectorSize=" + maxVectorBytes, "-XX:" + (fma ? "+" : "-") + "UseFMA",
                "-cp", System.getProperty("java.class.path"), SmallSpeciesCheck.class.getName()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try (var in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, process.exitValue(), output);
        String expected = "ok pure Java (Vector API " + expectedBits + "-bit" + (fma ? ", FMA" : "") + ")";
        assertTrue(output.contains(expected), () -> "expected \"" + expected + "\" in:\n" + output);
    }
}
