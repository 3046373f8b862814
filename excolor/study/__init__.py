"""A study's record, read and shown: its storage, trial attributes, held-out records, tables, plots, the
HTML page, the W&B study run and presets exported from it."""
