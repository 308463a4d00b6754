"""triptych: the same real workloads on bare metal, in containers and in VMs, side by side."""

__version__ = "0.1.0"

# The version of the record we store in pytest-benchmark's extra_info; the report upgrades
# older records and refuses newer ones.
RESULT_API_VERSION = 1
