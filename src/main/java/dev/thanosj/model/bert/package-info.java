/**
 * BERT encoders in Java: {@link dev.thanosj.model.bert.BertEncoder} runs a BERT exported to ONNX
 * (embeddings, LayerNorm, masked multi-head self-attention, exact-erf GELU, residuals) on packed off-heap
 * activations with the linear-algebra provider's GEMMs, one layer at a time, with a
 * {@link dev.thanosj.model.bert.LinearTap} that sees every Linear's input and weights that the caller may
 * replace (the pruned ones). {@link dev.thanosj.model.bert.MiniLm} is the bundled default model.
 */
package dev.thanosj.model.bert;
