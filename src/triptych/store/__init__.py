"""The shared results store: saved runs published to PostgreSQL, read back as the files are."""
