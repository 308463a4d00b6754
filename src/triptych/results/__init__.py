"""Saved runs as data: the column table, the loader of saved runs and journals, the column
labels and the per-run costs that the report, the gate, the store and the terminal all read."""
