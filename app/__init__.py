"""LLM Playground."""
