package dev.thanosj.model.llama;

import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The memory a sequential pruning run of a Llama-family model needs, itemised before it starts, and the
 * check against what the machine has. The items add up everything that may be alive at once (a
 * conservative sum; the peak is lower because block weights and pruning work do not overlap):
 * <ul>
 *   <li>the pruned weights, kept until saving in their storage dtype (the whole prunable part of the model
 *       at the end: this dominates for large models);</li>
 *   <li>the calibration activations, {@code samples x seqLen x hidden} in float32, held once: a block's
 *       outputs overwrite its inputs window by window;</li>
 *   <li>one block's weights converted to float32;</li>
 *   <li>the statistics {@code H} ({@code cols x cols} float32) of each of the block's seven linears, as
 *       {@code SequentialPruner} keeps one per linear;</li>
 *   <li>pruning the largest linear: its weight, the copy kept for the loss, one {@code cols x cols} factor;</li>
 *   <li>the forward pass's scratch for one step of at most {@link BlockPass#ROWS_PER_STEP} tokens;</li>
 *   <li>a fixed allowance for the JVM, the tokenizer and the native libraries.</li>
 * </ul>
 * The memory-mapped checkpoint is not counted: it is page cache the kernel can drop and re-read. With this
 * plan a 7B Llama 2 (bf16) with 128 windows of 2048 tokens needs about 19.8 GiB.
 *
 * @param model           what the plan is for: the config's one-line description and the calibration size
 * @param samples         calibration windows
 * @param bytesPerSample  activation bytes of one window
 * @param items           the itemised needs, the activations second
 */
public record MemoryPlan(String model, int samples, long bytesPerSample, List<Item> items) {
    /** Allowance for the JVM heap, the tokenizer and the native libraries. */
    static final long RUNTIME_BYTES = 1L << 30;

    /** One need: what it is for and how many bytes. */
    public record Item(String what, long bytes) {
    }

    /** Memory the machine can give: bytes and where the number comes from. */
    public record Available(long bytes, String source) {
    }

    public MemoryPlan {
        items = List.copyOf(items);
    }

    /** The plan for pruning a model of {@code config} on {@code samples} windows of {@code seqLen} tokens. */
    public static MemoryPlan of(LlamaConfig config, int samples, int seqLen) {
        long h = config.hiddenSize();
        long inter = config.intermediateSize();
        long q = config.qDim();
        long kv = config.kvDim();
        long[][] shapes = {{q, h}, {kv, h}, {kv, h}, {h, q}, {inter, h}, {inter, h}, {h, inter}};
        long prunable = 0;
        long pruning = 0;
        for (long[] s : shapes) {
            prunable += s[0] * s[1];
            pruning = Math.max(pruning, 2 * s[0] * s[1] + s[1] * s[1]);
        }
        // one H (and s) per distinct input (LlamaModel.inputGroups): q/k/v and gate/up share theirs
        long statistics = 2 * (h * h + h) + q * q + q + inter * inter + inter;
        long f32 = Float.BYTES;
        long perSample = (long) seqLen * h * f32;
        List<Item> items = new ArrayList<>();
        items.add(new Item("pruned weights until saving (" + config.numHiddenLayers() + " blocks x " + prunable
                + " weights, " + config.storageBytes() + " bytes each)",
                prunable * config.numHiddenLayers() * config.storageBytes()));
        items.add(new Item("calibration activations (" + samples + " x " + seqLen + " tokens x " + h
                + " float32, updated in place)", samples * perSample));
        items.add(new Item("one block's weights in float32", (prunable + 2 * h + (config.qkvBias() ? q + 2 * kv : 0)) * f32));
        items.add(new Item("statistics H of the block's 4 distinct linear inputs (float32)", statistics * f32));
        items.add(new Item("pruning the largest linear (weight, copy, factor)", pruning * f32));
        items.add(new Item("forward-pass scratch for one step", BlockPass.scratchBytes(config, seqLen, samples)));
        items.add(new Item("JVM, tokenizer and native libraries (allowance)", RUNTIME_BYTES));
        return new MemoryPlan(config.describe() + "; " + samples + " windows of " + seqLen + " tokens", samples,
                perSample, items);
    }

    /** The sum of all items. */
    public long totalBytes() {
        return items.stream().mapToLong(Item::bytes).sum();
    }

    /** The plan as lines for the console: one per item, then the total. */
    public String describe() {
        StringBuilder b = new StringBuilder("memory plan for ").append(model).append('\n');
        for (Item item : items) {
            b.append(String.format(Locale.ROOT, "  %10s  %s%n", gib(item.bytes()), item.what()));
        }
        b.append(String.format(Locale.ROOT, "  %10s  total", gib(totalBytes())));
        return b.toString();
    }

    /** Checks the plan against the memory {@link #available()} says; passes when that is unknown. */
    public void check() {
        available().ifPresent(this::check);
    }

    /** Throws a {@link ThanosjException} naming the numbers when the plan needs more than {@code available}. */
    public void check(Available available) {
        long total = totalBytes();
        if (total <= available.bytes()) {
            return;
        }
        long activations = samples * bytesPerSample;
        long others = total - activations;
        long fitting = bytesPerSample == 0 ? 0 : (available.bytes() - others) / bytesPerSample;
        String hint = fitting >= 1
                ? "; --samples " + fitting + " would fit, or lower --seq-len"
                : "; even one calibration window does not fit: the pruned weights alone need "
                        + gib(items.getFirst().bytes()) + ", use a machine with more memory";
        throw new ThanosjException("this run needs " + gib(total) + " of memory but only " + gib(available.bytes())
                + " are available (" + available.source() + "): calibration activations " + gib(activations)
                + ", everything else " + gib(others) + hint);
    }

    /**
     * The memory this process can use: {@code MemAvailable} of {@code /proc/meminfo}, lowered to the headroom
     * of the process's memory cgroup (v1 or v2, the own group and its parents: limit minus usage not counting
     * inactive file cache) when that is smaller; empty when neither can be read (not Linux).
     */
    public static Optional<Available> available() {
        return available(Path.of("/proc/meminfo"), Path.of("/proc/self/cgroup"), Path.of("/sys/fs/cgroup"));
    }

    static Optional<Available> available(Path meminfo, Path selfCgroup, Path cgroupRoot) {
        Available best = null;
        Long memAvailable = field(meminfo, "MemAvailable:");
        if (memAvailable != null) {
            best = new Available(memAvailable * 1024, "MemAvailable in " + meminfo);
        }
        for (Available a : cgroupHeadroom(selfCgroup, cgroupRoot)) {
            if (best == null || a.bytes() < best.bytes()) {
                best = a;
            }
        }
        return Optional.ofNullable(best);
    }

    private static List<Available> cgroupHeadroom(Path selfCgroup, Path root) {
        List<Available> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(selfCgroup);
        } catch (IOException e) {
            return out;
        }
        for (String line : lines) {
            String[] parts = line.split(":", 3);
            if (parts.length != 3) {
                continue;
            }
            boolean v2 = parts[0].equals("0") && parts[1].isEmpty();
            boolean v1 = List.of(parts[1].split(",")).contains("memory");
            if (!v1 && !v2) {
                continue;
            }
            Path base = v2 ? (Files.isDirectory(root.resolve("unified")) ? root.resolve("unified") : root)
                    : root.resolve("memory");
            String limitFile = v2 ? "memory.max" : "memory.limit_in_bytes";
            String usageFile = v2 ? "memory.current" : "memory.usage_in_bytes";
            String inactive = v2 ? "inactive_file" : "total_inactive_file";
            Path dir = base.resolve(parts[2].replaceFirst("^/+", ""));
            if (!Files.isDirectory(dir)) {
                dir = base;
            }
            for (Path d = dir; d != null && d.startsWith(base); d = d.getParent()) {
                Long limit = number(d.resolve(limitFile));
                Long usage = number(d.resolve(usageFile));
                if (limit == null || usage == null || limit >= (1L << 60)) {
                    continue;
                }
                Long cache = field(d.resolve("memory.stat"), inactive + " ");
                long used = Math.max(0, usage - (cache == null ? 0 : cache));
                out.add(new Available(Math.max(0, limit - used), "memory cgroup " + d + ": limit " + gib(limit)
                        + ", in use " + gib(used)));
            }
        }
        return out;
    }

    /** The number in {@code file} (a cgroup file), or null when absent, "max" or unreadable. */
    private static Long number(Path file) {
        try {
            String text = Files.readString(file).strip();
            return text.matches("\\d+") ? Long.parseLong(text) : null;
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /** The first number after {@code key} at the start of a line of {@code file}, or null. */
    private static Long field(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    String[] words = line.substring(key.length()).trim().split("\\s+");
                    return Long.parseLong(words[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return null;
        }
        return null;
    }

    /** {@code bytes} in GiB with one decimal, e.g. "19.8 GiB". */
    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
