package dev.thanosj.linalg;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.foreign.SymbolLookup;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Finds and loads the OpenBLAS shared library. First choice: the copy bundled in the
 * {@code org.bytedeco:openblas:<version>:<platform>} jar, extracted once into a versioned cache folder
 * ({@code $XDG_CACHE_HOME/thanosj}, else {@code ~/.cache/thanosj}, else {@code java.io.tmpdir}) and loaded
 * with its gfortran runtime. Second choice: a system {@code libopenblas}. A folder with the final name is
 * always complete: the extraction writes a temporary sibling and renames it atomically, under a lock file
 * that makes concurrent first runs extract once and share the result.
 */
final class OpenBlasLibrary {
    /** Runtime libraries libopenblas links to, in load order; ones a platform does not ship are skipped. */
    private static final List<String> DEPENDENCIES = List.of("libgcc_s.so.1", "libquadmath.so.0", "libgfortran.so.5");
    private static final String LIBRARY = "libopenblas.so.0";
    private static final List<String> SYSTEM_NAMES = List.of("libopenblas.so.0", "libopenblas.so");
    private static final String POM_PROPERTIES = "META-INF/maven/org.bytedeco/openblas/pom.properties";

    private final SymbolLookup symbols;
    private final String origin;
    private final String threadTimeout;

    private OpenBlasLibrary(SymbolLookup symbols, String origin, String threadTimeout) {
        this.symbols = symbols;
        this.origin = origin;
        this.threadTimeout = threadTimeout;
    }

    /** The library's symbols. */
    SymbolLookup symbols() {
        return symbols;
    }

    /** {@code OPENBLAS_THREAD_TIMEOUT} as the library read it when it loaded (null: its default). */
    String threadTimeout() {
        return threadTimeout;
    }

    /** Where the library came from: {@code bundled: /path/libopenblas.so.0} or {@code system: libopenblas.so.0}. */
    String origin() {
        return origin;
    }

    /**
     * Loads the bundled library, else a system one, and checks that it has every symbol in {@code required};
     * modifies the cache folder on the first run.
     *
     * @throws LinalgUnavailableException saying what was tried and why each attempt failed
     */
    @SuppressWarnings("restricted") // loading native code is this class's purpose
    static OpenBlasLibrary load(List<String> required) {
        String timeout = shortenThreadTimeout();
        List<String> failures = new ArrayList<>();
        String platform = platform();
        try {
            Path library = extractBundled(platform);
            OpenBlasLibrary bundled = new OpenBlasLibrary(loadWithDependencies(library), "bundled: " + library,
                    timeout);
            String missing = bundled.missing(required);
            if (missing == null) {
                return bundled;
            }
            failures.add("bundled " + library + " lacks " + missing);
        } catch (IOException | UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
            failures.add("bundled (" + platform + "): " + e.getMessage());
        }
        for (String name : SYSTEM_NAMES) {
            try {
                OpenBlasLibrary system = new OpenBlasLibrary(SymbolLookup.libraryLookup(name, Arena.global()),
                        "system: " + name, timeout);
                String missing = system.missing(required);
                if (missing == null) {
                    return system;
                }
                failures.add("system " + name + " lacks " + missing);
            } catch (IllegalArgumentException e) {
                failures.add("system " + name + ": " + e.getMessage());
            }
        }
        throw new LinalgUnavailableException("OpenBLAS could not be loaded; tried " + String.join("; ", failures));
    }

    /**
     * How long, as a power of two of CPU cycles, OpenBLAS's idle threads spin before they sleep; OpenBLAS
     * reads it once, when it loads. Its default (2²⁸ cycles, ≈ 0.1 s) leaves a thread spinning after every
     * call, and on a machine with as many threads as cores that spin steals a core from the Java loop that
     * follows (measured: a two-thread loop of 95 ms took 150 ms right after a GEMM; with 2⁴ it took 95 ms,
     * and the GEMMs ran as fast). The minimum, 4, lets them sleep at once; waking them costs microseconds
     * against BLAS calls of milliseconds.
     */
    static final String THREAD_TIMEOUT = "4";

    /**
     * Sets {@code OPENBLAS_THREAD_TIMEOUT} to {@link #THREAD_TIMEOUT} in this process's environment (through
     * libc's {@code setenv}: {@code System.getenv} is a snapshot a JVM cannot change) unless the user set it,
     * and returns the value in effect, read back with {@code getenv}; null on a platform without them.
     */
    @SuppressWarnings("restricted") // libc calls: the environment is process-wide native state
    static String shortenThreadTimeout() {
        Linker linker = Linker.nativeLinker();
        var setenv = linker.defaultLookup().find("setenv");
        var getenv = linker.defaultLookup().find("getenv");
        if (setenv.isEmpty() || getenv.isEmpty()) {
            return null;
        }
        MethodHandle set = linker.downcallHandle(setenv.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MethodHandle get = linker.downcallHandle(getenv.get(), FunctionDescriptor.of(
                ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(64, ValueLayout.JAVA_BYTE)),
                ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            var name = arena.allocateFrom("OPENBLAS_THREAD_TIMEOUT");
            int unused = (int) set.invokeExact(name, arena.allocateFrom(THREAD_TIMEOUT), 0); // 0: the user's value wins
            var value = (MemorySegment) get.invokeExact(name);
            return value.equals(MemorySegment.NULL) ? null : value.getString(0);
        } catch (Throwable e) {
            throw new IllegalStateException("setenv/getenv failed", e);
        }
    }

    private String missing(List<String> required) {
        List<String> absent = required.stream().filter(name -> symbols.find(name).isEmpty()).toList();
        return absent.isEmpty() ? null : "symbols " + absent;
    }

    @SuppressWarnings("restricted") // loading native code is this class's purpose
    private static SymbolLookup loadWithDependencies(Path library) {
        for (String dependency : DEPENDENCIES) {
            Path path = library.resolveSibling(dependency);
            if (Files.exists(path)) {
                SymbolLookup.libraryLookup(path, Arena.global());
            }
        }
        return SymbolLookup.libraryLookup(library, Arena.global());
    }

    /** The bytedeco classifier of this machine, e.g. {@code linux-x86_64}. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osPart = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macosx"
                : os.startsWith("windows") ? "windows" : os.replace(' ', '_');
        String archPart = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "arm64";
            default -> arch;
        };
        return osPart + "-" + archPart;
    }

    /** Extracts the bundled libraries (once) and returns the path of the extracted libopenblas. */
    private static Path extractBundled(String platform) throws IOException {
        String folder = "org/bytedeco/openblas/" + platform + "/";
        ClassLoader loader = OpenBlasLibrary.class.getClassLoader();
        URL libraryUrl = loader.getResource(folder + LIBRARY);
        if (libraryUrl == null) {
            throw new IOException(folder + LIBRARY + " is not on the class path (the org.bytedeco:openblas jar with"
                    + " classifier " + platform + ")");
        }
        Map<String, URL> resources = new LinkedHashMap<>();
        for (String dependency : DEPENDENCIES) {
            URL url = loader.getResource(folder + dependency);
            if (url != null) {
                resources.put(dependency, url);
            }
        }
        resources.put(LIBRARY, libraryUrl);
        String name = "openblas-" + bundleVersion(libraryUrl, folder + LIBRARY) + "-" + platform;

        List<String> failures = new ArrayList<>();
        for (CacheRoot root : cacheRoots()) {
            try {
                return extractInto(root, name, resources).resolve(LIBRARY);
            } catch (IOException e) {
                failures.add(root.path() + ": " + e);
            }
        }
        throw new IOException("cannot extract into any cache folder: " + String.join("; ", failures));
    }

    /** The version in the jar's {@code pom.properties}, which names the cache folder. */
    private static String bundleVersion(URL libraryUrl, String libraryPath) throws IOException {
        String text = libraryUrl.toString();
        URL pom;
        try {
            pom = new URI(text.substring(0, text.length() - libraryPath.length()) + POM_PROPERTIES).toURL();
        } catch (URISyntaxException e) {
            throw new IOException("cannot locate " + POM_PROPERTIES + " beside " + text, e);
        }
        Properties properties = new Properties();
        try (InputStream in = pom.openStream()) {
            properties.load(in);
        }
        String version = properties.getProperty("version");
        if (version == null || version.isBlank() || !version.matches("[A-Za-z0-9._-]+")) {
            throw new IOException(pom + " has no usable version: " + version);
        }
        return version;
    }

    /** A candidate parent of the cache folder; a shared one (the temp folder) must belong to this user. */
    private record CacheRoot(Path path, boolean shared) {
    }

    /** Candidate parents of the cache folder, most preferred first. */
    private static List<CacheRoot> cacheRoots() {
        List<CacheRoot> roots = new ArrayList<>();
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            roots.add(new CacheRoot(Path.of(xdg, "thanosj"), false));
        }
        String home = System.getProperty("user.home");
        if (home != null && !home.isBlank()) {
            roots.add(new CacheRoot(Path.of(home, ".cache", "thanosj"), false));
        }
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        roots.add(new CacheRoot(Path.of(System.getProperty("java.io.tmpdir"), "thanosj-" + user), true));
        return roots;
    }

    /**
     * Returns {@code root/name}, complete, extracting it first unless a complete copy exists. Extraction
     * holds a lock file, so concurrent first runs extract once and the others wait and use that copy; it
     * writes a temporary sibling and renames it atomically, so a process that dies midway leaves no
     * incomplete folder under the final name (its leftovers, and a folder someone damaged, are removed by
     * the next extraction).
     */
    private static Path extractInto(CacheRoot cacheRoot, String name, Map<String, URL> resources)
            throws IOException {
        Path root = cacheRoot.path();
        createPrivateDirectories(root);
        if (cacheRoot.shared()) {
            requireOwnedByUs(root);
        }
        Map<String, Long> sizes = expectedSizes(resources);
        Path target = root.resolve(name);
        if (isComplete(target, sizes)) {
            return target;
        }
        try (FileChannel lockFile = FileChannel.open(root.resolve(name + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            lockFile.lock(); // released when the channel closes
            if (isComplete(target, sizes)) {
                return target;
            }
            try (Stream<Path> siblings = Files.list(root)) {
                for (Path leftover : siblings.filter(path -> path.getFileName().toString().startsWith(name + ".part-")
                        || path.equals(target)).toList()) {
                    deleteRecursively(leftover);
                }
            }
            Path partial = Files.createTempDirectory(root, name + ".part-");
            try {
                for (Map.Entry<String, URL> resource : resources.entrySet()) {
                    try (InputStream in = resource.getValue().openStream()) {
                        Files.copy(in, partial.resolve(resource.getKey()));
                    }
                }
                if (!isComplete(partial, sizes)) {
                    throw new IOException("extracted files in " + partial + " do not have the sizes of the jar entries");
                }
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                if (Files.exists(partial)) {
                    deleteRecursively(partial);
                }
            }
            return target;
        }
    }

    /** Uncompressed sizes of the jar entries, -1 where the class loader does not tell. */
    private static Map<String, Long> expectedSizes(Map<String, URL> resources) throws IOException {
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (Map.Entry<String, URL> resource : resources.entrySet()) {
            sizes.put(resource.getKey(), resource.getValue().openConnection().getContentLengthLong());
        }
        return sizes;
    }

    private static boolean isComplete(Path folder, Map<String, Long> sizes) throws IOException {
        if (!Files.isDirectory(folder)) {
            return false;
        }
        for (Map.Entry<String, Long> file : sizes.entrySet()) {
            Path path = folder.resolve(file.getKey());
            if (!Files.isRegularFile(path) || (file.getValue() >= 0 && Files.size(path) != file.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static void createPrivateDirectories(Path root) throws IOException {
        if (Files.isDirectory(root)) {
            return;
        }
        Files.createDirectories(root.getParent());
        try {
            if (root.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.createDirectory(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectory(root);
            }
        } catch (FileAlreadyExistsException createdByAnother) {
            // Another process created it first; its owner is checked next.
        }
    }

    /**
     * Refuses a folder in a shared place unless this process's user owns it (another user's folder could hold
     * their libraries). The user is whoever owns a file this process creates there.
     */
    private static void requireOwnedByUs(Path folder) throws IOException {
        Path probe = Files.createTempFile(folder, "owner-", ".probe");
        try {
            UserPrincipal us = Files.getOwner(probe);
            UserPrincipal owner = Files.getOwner(folder);
            if (!owner.equals(us)) {
                throw new IOException(folder + " belongs to " + owner.getName() + ", not to " + us.getName());
            }
        } finally {
            Files.delete(probe);
        }
    }

    private static void deleteRecursively(Path folder) throws IOException {
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
