package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.kernels.KernelsProvider;
import dev.thanosj.kernels.VectorSupport;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.linalg.LinalgProvider;
import dev.thanosj.linalg.LinalgUnavailableException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code thanosj env}: what this machine and JVM offer the library: Java and VM, OS, CPU model and the
 * instruction-set features the kernels care about, the Vector API decision and the kernels in use, the
 * linear-algebra provider.
 * Exits {@value Main#USER_ERROR} (after printing everything else) when a provider forced by a system
 * property cannot be used.
 */
@Command(name = "env", mixinStandardHelpOptions = true, description = "Print the Java, CPU, Vector API and linear-algebra setup.")
final class EnvCommand implements Callable<Integer> {
    /** The /proc/cpuinfo flags that matter to the kernels and to OpenBLAS, in the order printed. */
    static final List<String> CPU_FLAGS =
            List.of("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512fp16");

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int code = Main.OK;

        line(out, "version", "thanosj " + Main.Version.version());
        line(out, "java", Runtime.version().toString());
        line(out, "vm", System.getProperty("java.vm.vendor") + ", " + System.getProperty("java.vm.name") + ", "
                + System.getProperty("java.vm.version"));
        line(out, "os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        CpuInfo cpu = CpuInfo.read();
        line(out, "cpu", cpu.model());
        line(out, "cpu flags", cpu.flags());
        line(out, "processors", Integer.toString(Runtime.getRuntime().availableProcessors()));
        line(out, "max heap", mebibytes(Runtime.getRuntime().maxMemory()));

        try {
            line(out, "vector api", VectorSupport.status().describe());
            line(out, "kernels", KernelsProvider.get().description());
        } catch (ThanosjException e) {
            line(out, "vector api", "error: " + e.getMessage());
            err.println("thanosj: " + e.getMessage());
            code = Main.USER_ERROR;
        }

        try {
            Linalg linalg = Linalg.get();
            String fallback = LinalgProvider.fallbackReason();
            line(out, "linalg", linalg.description());
            if (fallback != null) {
                line(out, "", "(OpenBLAS not used: " + fallback + ")");
            }
            line(out, "threads", "workers " + Workers.threads() + ", linalg " + linalg.threads());
        } catch (LinalgUnavailableException e) {
            line(out, "linalg", "unavailable: " + e.getMessage());
            err.println("thanosj: " + e.getMessage());
            code = Main.USER_ERROR;
        }
        out.flush();
        err.flush();
        return code;
    }

    private static void line(PrintWriter out, String key, String value) {
        out.printf("%-12s%s%n", key.isEmpty() ? "" : key + ":", value);
    }

    private static String mebibytes(long bytes) {
        return bytes == Long.MAX_VALUE ? "unlimited" : (bytes >> 20) + " MiB";
    }

    /**
     * The CPU model and the {@link #CPU_FLAGS} it has, as printed; each says "unknown (why)" when it cannot
     * be read.
     */
    record CpuInfo(String model, String flags) {

        static CpuInfo read() {
            if (!System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux")) {
                return new CpuInfo("unknown (not Linux)", "unknown (not Linux)");
            }
            try {
                return parse(Files.readAllLines(Path.of("/proc/cpuinfo")));
            } catch (IOException e) {
                String why = "unknown (cannot read /proc/cpuinfo: " + e + ")";
                return new CpuInfo(why, why);
            }
        }

        /** The first {@code model name} and {@code flags} lines of a {@code /proc/cpuinfo} text. */
        static CpuInfo parse(List<String> lines) {
            String model = null;
            Set<String> flags = null;
            for (String line : lines) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String key = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (model == null && key.equals("model name")) {
                    model = value;
                } else if (flags == null && key.equals("flags")) {
                    flags = Set.copyOf(Arrays.asList(value.split("\\s+")));
                }
            }
            String unknown = "unknown (not in /proc/cpuinfo)";
            return new CpuInfo(model == null ? unknown : model, flags == null ? unknown : describe(flags));
        }

        /** The {@link #CPU_FLAGS} present, then those missing. */
        private static String describe(Set<String> flags) {
            List<String> present = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            for (String flag : CPU_FLAGS) {
                (flags.contains(flag) ? present : missing).add(flag);
            }
            if (present.isEmpty()) {
                return "none of " + String.join(" ", CPU_FLAGS);
            }
            return missing.isEmpty() ? String.join(" ", present)
                    : String.join(" ", present) + " (missing: " + String.join(" ", missing) + ")";
        }
    }
}
