"""triptych: the same real workloads on bare metal, in containers and in VMs, side by side."""

__version__ = "0.1.0"
