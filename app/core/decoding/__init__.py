"""Decoding: the step records every view consumes, next-token distributions, the sampler
chain, the generation loop, beam search and side-by-side runs. The records
(step_records, step_distribution) import no engine."""
