/**
 * Llama-family decoders from Hugging Face checkpoints ({@code LlamaForCausalLM} for Llama 2 and 3,
 * {@code MistralForCausalLM}, {@code Qwen2ForCausalLM}): {@link dev.thanosj.model.llama.LlamaConfig} reads
 * {@code config.json}; {@link dev.thanosj.model.llama.LlamaModel} maps the safetensors weights, exposes the
 * seven projections of every block to the sequential pruning loop, runs the forward pass (RMSNorm, rotary
 * embeddings in the Hugging Face convention with Llama 3 scaling, causal grouped-query attention, SwiGLU) on
 * off-heap float32 with the provider's GEMMs, and saves a pruned copy with the same shards and dtypes;
 * {@link dev.thanosj.model.llama.LlamaCalibration} holds the calibration activations block by block;
 * {@link dev.thanosj.model.llama.Perplexity} evaluates with the reference repositories' protocol;
 * {@link dev.thanosj.model.llama.MemoryPlan} says before a run what it needs and refuses what does not fit.
 */
package dev.thanosj.model.llama;
