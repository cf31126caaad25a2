"""Tokenizer inspection without a model's weights: token spans over text, BPE merge replay,
the bundled reference tokenizers, and UTF-8 assembled across token boundaries."""
