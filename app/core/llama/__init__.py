"""The local llama.cpp engine: the one module that imports llama_cpp (llama_runtime), the
engine and its context, vocabularies, chat templates and prompt checks, and the load probe
that opens a new model file in a child process first."""
