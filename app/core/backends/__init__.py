"""Engines that run elsewhere: llama.cpp's llama-server (started by `llm-playground serve`
or by a teacher) and, next, any OpenAI-compatible server. They produce the same step
records as the local engine, with what they cannot know labelled as estimated."""
