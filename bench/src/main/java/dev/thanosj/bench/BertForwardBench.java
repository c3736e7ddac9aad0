package dev.thanosj.bench;

import dev.thanosj.kernels.VectorSupport;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.model.bert.MiniLm;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.text.CalibrationText;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The full BERT forward pass (embeddings and the 6 layers of the bundled all-MiniLM-L6-v2, dense weights) on
 * the first {@code docs} documents of the default evaluation text (Europarl), tokenised to at most 128 tokens
 * each: the work that dominates {@code thanosj prune} and {@code compare} on BERT. {@code kernels} picks the
 * activations (and kernels) of the fork, {@code panama} or {@code scalar}, through {@code -Dthanosj.kernels}
 * set before the library first chooses; the linear algebra is the process default (OpenBLAS).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {
        "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class BertForwardBench {
    @Param({"panama", "scalar"})
    public String kernels;

    @Param({"64"})
    public int docs;

    OnnxModel model;
    BertEncoder encoder;
    TokenBatch batch;

    @Setup(Level.Trial)
    public void setUp() {
        System.setProperty(VectorSupport.PROPERTY, kernels);
        model = OnnxModel.open(MiniLm.modelFile());
        encoder = BertEncoder.of(model);
        try (Tokenizer tokenizer = MiniLm.tokenizer(Tokenizer.DEFAULT_MAX_LENGTH)) {
            batch = tokenizer.encode(CalibrationText.defaultEvaluation().subList(0, docs));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        encoder.close();
        model.close();
    }

    /** The last hidden state of every token; returns a checksum (the sum of its first row) so nothing is dead code. */
    @Benchmark
    public double forward() {
        try (Arena arena = Arena.ofShared()) {
            return checksum(encoder.forward(batch, arena));
        }
    }

    static double checksum(FloatMatrix hidden) {
        double sum = 0;
        for (int c = 0; c < hidden.cols(); c++) {
            sum += hidden.get(0, c);
        }
        return sum;
    }
}
