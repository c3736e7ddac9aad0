/**
 * The Hugging Face safetensors format: {@link dev.thanosj.model.safetensors.SafetensorsFile} memory-maps one
 * file read-only and validates its header (length, JSON, dtypes, shapes, offsets, overlaps) before any
 * tensor is read; {@link dev.thanosj.model.safetensors.SafetensorsModel} opens a model folder, single-file or
 * sharded through {@code model.safetensors.index.json}, as one view over all tensors;
 * {@link dev.thanosj.model.safetensors.SafetensorsWriter} streams tensors (converted from float32, or copied
 * byte-identical) into a new file or a whole checkpoint folder, written under a temporary name and renamed.
 * Every problem with a file is a {@link dev.thanosj.ThanosjException} naming the file and the tensor.
 */
package dev.thanosj.model.safetensors;
