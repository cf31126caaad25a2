"""GGUF files: reading and validating them, the model card, memory fit, quant names."""
