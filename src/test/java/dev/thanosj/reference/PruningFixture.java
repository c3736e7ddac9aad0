package dev.thanosj.reference;

import dev.thanosj.model.safetensors.SafetensorsFile;
import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One layer-pruning fixture of {@code src/test/resources/fixtures/pruning} (copied from
 * {@code shared/fixtures/pruning}; see its README): the weight, the calibration inputs (one sequence), the
 * expected result computed by an independent float64 implementation, and the spec in {@code __metadata__}.
 */
public record PruningFixture(String name, Map<String, String> metadata, double[][] weight, double[][] inputs,
        double[][] expected) {
    /** The classpath folder of the fixtures. */
    public static final String FOLDER = "/fixtures/pruning";

    /** The names (file names without {@code .safetensors}) of all fixtures, sorted. */
    public static List<String> names() {
        URL url = PruningFixture.class.getResource(FOLDER);
        if (url == null) {
            throw new IllegalStateException("no test resource folder " + FOLDER);
        }
        try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors"))
                    .map(n -> n.substring(0, n.length() - ".safetensors".length())).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads fixture {@code name} from the test resources. */
    public static PruningFixture load(String name) {
        URL url = PruningFixture.class.getResource(FOLDER + "/" + name + ".safetensors");
        if (url == null) {
            throw new IllegalArgumentException("no fixture " + name);
        }
        try (SafetensorsFile file = SafetensorsFile.open(Path.of(url.toURI())); Arena arena = Arena.ofConfined()) {
            return new PruningFixture(name, Map.copyOf(file.metadata()),
                    Dense.toDouble(file.matrix(arena, "weight")),
                    Dense.toDouble(file.matrix(arena, "inputs")),
                    Dense.toDouble(file.matrix(arena, "expected")));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public int rows() {
        return weight.length;
    }

    public int cols() {
        return weight[0].length;
    }

    /**
     * The spec of the metadata: {@code method}, {@code sparsity} + {@code structured}, {@code alpha},
     * {@code blockSize} (0 in the magnitude and Wanda fixtures means unused: the default), {@code percDamp}.
     */
    public PruneSpec spec() {
        int blockSize = Integer.parseInt(metadata.get("blockSize"));
        return new PruneSpec(Method.parse(metadata.get("method")),
                Pattern.parse(metadata.get("sparsity"), Boolean.parseBoolean(metadata.get("structured"))),
                Double.parseDouble(metadata.get("alpha")),
                blockSize == 0 ? PruneSpec.DEFAULT_BLOCK_SIZE : blockSize,
                Double.parseDouble(metadata.get("percDamp")));
    }

    /** {@code relativeLoss} of the metadata: {@code ‖X(Ŵ−W)ᵀ‖²/‖XWᵀ‖²} of {@code expected}. */
    public double relativeLoss() {
        return Double.parseDouble(metadata.get("relativeLoss"));
    }

    /** {@code max|W|}, the scale of the weight tolerances. */
    public double maxAbsWeight() {
        return Dense.maxAbs(weight);
    }

    @Override
    public String toString() {
        return name;
    }
}
