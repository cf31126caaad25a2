"""The Models tab: library, Hub search, repository files, model card, downloads, course
picks."""
