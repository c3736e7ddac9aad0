package dev.thanosj.model.pipeline;

import dev.thanosj.tensor.FloatMatrix;

/**
 * The hidden states of the calibration samples as they flow through a model, block by block. It starts at
 * the embeddings of the samples; only the current block's activations are held (off-heap), and
 * {@link #close()} frees them.
 */
public interface CalibrationPass extends AutoCloseable {

    /** Receives the inputs of one linear: all valid tokens of {@code sequences} sequences, {@code tokens x in}. */
    @FunctionalInterface
    interface Tap {
        void accept(LinearRef linear, FloatMatrix inputs, int sequences);
    }

    /**
     * Runs {@code block} on the current hidden states with the model's current weights, showing every
     * linear's inputs to {@code tap}, and leaves the hidden states unchanged.
     */
    void capture(int block, Tap tap);

    /** Replaces the hidden states by the outputs of {@code block}, computed with the model's current weights. */
    void advance(int block);

    @Override
    void close();
}
