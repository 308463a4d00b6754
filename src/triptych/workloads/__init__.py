"""Workloads: a real tool's argv from typed parameters, and a parser from its output to samples."""
