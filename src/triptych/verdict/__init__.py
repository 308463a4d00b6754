"""The statistics of a verdict and its one vocabulary of effect, shared by the report and the
gate."""
