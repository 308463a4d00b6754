"""The platform names a scenario or the command line may use."""

PLATFORM_NAMES = ("host", "docker-bridge", "docker-host", "vm")
