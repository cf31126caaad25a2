"""Errors the user caused and can fix: shown as one clear line, never a traceback."""


class PlaygroundError(Exception):
    """Bad input: a missing or broken model file, an invalid setting, a too-long prompt."""


class ModelFileError(PlaygroundError):
    """The file is not a GGUF model llama.cpp can load, with the reason."""


class SettingsError(PlaygroundError):
    """A decoding setting outside its valid range."""


class PromptError(PlaygroundError):
    """The prompt is empty, or longer than the context."""


class ModelOutputError(PlaygroundError):
    """The model computed something unusable (NaN or infinite logits): damaged weights."""
