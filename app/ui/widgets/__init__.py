"""Widgets that show step records: the chart, the token stream, the timeline, the beam tree,
the tokenizer chips, and what they share (palette, pacers, plot style). No widget here
builds a worker: tests feed them recorded steps."""
