package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The memory plan: the 7B target, the refusal message, and reading what is available from /proc and cgroups. */
class MemoryPlanTest {
    static final long GIB = 1L << 30;

    @TempDir
    Path tmp;

    @Test
    void a7BLlamaWith128WindowsOf2048TokensFitsIn24GiB() {
        LlamaConfig llama2 = LlamaConfig.parse(LlamaConfigTest.LLAMA2_7B, "llama2");
        MemoryPlan plan = MemoryPlan.of(llama2, 128, 2048);
        System.out.println(plan.describe());
        assertTrue(plan.totalBytes() <= 24 * GIB, plan.describe());
        assertEquals(4 * GIB, plan.items().get(1).bytes(), "activations: 128 x 2048 x 4096 float32, once");
        assertEquals(202_375_168L * 32 * 2, plan.items().getFirst().bytes(), "the prunable weights in bf16");
        assertTrue(plan.describe().contains("total"));
        assertDoesNotThrow(() -> plan.check(new MemoryPlan.Available(24 * GIB, "test")));

        MemoryPlan llama3 = MemoryPlan.of(LlamaConfig.parse(LlamaConfigTest.LLAMA31_8B, "llama3"), 128, 2048);
        assertTrue(llama3.totalBytes() <= 24 * GIB, llama3.describe());
    }

    @Test
    void aPlanThatDoesNotFitIsRefusedWithTheNumbersAndWhatWouldFit() {
        MemoryPlan plan = MemoryPlan.of(LlamaConfig.parse(LlamaConfigTest.LLAMA2_7B, "llama2"), 128, 2048);
        ThanosjException e = assertThrows(ThanosjException.class,
                () -> plan.check(new MemoryPlan.Available(18 * GIB, "MemAvailable in /proc/meminfo")));
        String m = e.getMessage();
        assertTrue(m.contains("needs " + MemoryPlan.gib(plan.totalBytes())) && m.contains("only 18.0 GiB"), m);
        assertTrue(m.contains("MemAvailable in /proc/meminfo"), m);
        long others = plan.totalBytes() - 4 * GIB;
        long fitting = (18 * GIB - others) / (32L << 20);
        assertTrue(m.contains("--samples " + fitting + " would fit"), m);

        ThanosjException hopeless = assertThrows(ThanosjException.class,
                () -> plan.check(new MemoryPlan.Available(8 * GIB, "cgroup")));
        assertTrue(hopeless.getMessage().contains("even one calibration window does not fit"), hopeless.getMessage());
    }

    @Test
    void availableIsMemAvailableLoweredToTheCgroupHeadroom() throws IOException {
        Path meminfo = Files.writeString(tmp.resolve("meminfo"), """
                MemTotal:       32000000 kB
                MemFree:         1000000 kB
                MemAvailable:   20971520 kB
                """);
        Path none = tmp.resolve("absent");
        assertEquals(Optional.of(new MemoryPlan.Available(20 * GIB, "MemAvailable in " + meminfo)),
                MemoryPlan.available(meminfo, none, none));

        Path root = tmp.resolve("cgroup");
        Path v1 = Files.createDirectories(root.resolve("memory/job/7"));
        Files.writeString(v1.resolve("memory.limit_in_bytes"), (16 * GIB) + "\n");
        Files.writeString(v1.resolve("memory.usage_in_bytes"), (5 * GIB) + "\n");
        Files.writeString(v1.resolve("memory.stat"), "cache 10\ntotal_inactive_file " + GIB + "\n");
        Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "9223372036854771712\n");
        Files.writeString(root.resolve("memory/memory.usage_in_bytes"), "100\n");
        Path self = Files.writeString(tmp.resolve("cgroup-self"), "4:memory:/job/7\n1:cpu:/\n0::/\n");
        MemoryPlan.Available a = MemoryPlan.available(meminfo, self, root).orElseThrow();
        assertEquals(12 * GIB, a.bytes(), "16 GiB limit - (5 GiB used - 1 GiB inactive cache)");
        assertTrue(a.source().contains("memory cgroup"), a.source());

        Path v2 = Files.createDirectories(tmp.resolve("cgroup2/user.slice/run"));
        Files.writeString(v2.resolve("memory.max"), (6 * GIB) + "\n");
        Files.writeString(v2.resolve("memory.current"), GIB + "\n");
        Files.writeString(v2.resolve("memory.stat"), "anon 5\ninactive_file 0\n");
        Files.writeString(v2.getParent().resolve("memory.max"), "max\n");
        Path selfV2 = Files.writeString(tmp.resolve("cgroup-self-v2"), "0::/user.slice/run\n");
        assertEquals(5 * GIB, MemoryPlan.available(meminfo, selfV2, tmp.resolve("cgroup2")).orElseThrow().bytes());
        assertEquals(Optional.empty(), MemoryPlan.available(none, none, none), "unknown off Linux");
    }

    @Test
    void thisMachineReportsSomething() {
        MemoryPlan.available().ifPresent(a -> assertTrue(a.bytes() > 0, a.toString()));
    }
}
