"""The regression gate: its inputs, the runs it compares (history selection), its statistics
and the compare command's output."""
