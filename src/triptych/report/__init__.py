"""The report: saved pytest-benchmark runs -> a DataFrame of samples -> one HTML file."""
