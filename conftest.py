"""Root conftest: the triptych plugin itself is loaded through its pytest11 entry point."""
