"""Pure-Python engine and services: no Qt below here."""
