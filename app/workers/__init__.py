"""Qt adapters that run core work on threads."""
