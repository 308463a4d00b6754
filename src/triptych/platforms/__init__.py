"""Platforms: where a workload runs (host, docker-bridge, docker-host, vm)."""
