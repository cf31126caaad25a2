"""A finished run and its files: the run record, saved sessions, CSV/JSON exports."""
