"""The Hugging Face Hub: search and repository answers, the resumable downloader, and the
downloads left unfinished by a previous run."""
