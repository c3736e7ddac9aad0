/**
 * Text for calibration and evaluation, and its tokenization: {@link dev.thanosj.model.text.CalibrationText}
 * reads documents (one per non-empty line), draws seeded samples and provides the default English Europarl
 * corpus split into disjoint calibration and evaluation halves; {@link dev.thanosj.model.text.Tokenizer}
 * runs a model's own {@code tokenizer.json} (DJL's HuggingFace tokenizers) with truncation; a
 * {@link dev.thanosj.model.text.TokenBatch} packs sequences of different lengths without padding.
 */
package dev.thanosj.model.text;
