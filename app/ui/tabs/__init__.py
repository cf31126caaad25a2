"""The window's tabs that run a model (Workspace, Compare, Beam search, Tokenizer), each
given its worker by the window."""
