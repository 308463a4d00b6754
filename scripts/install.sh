#!/usr/bin/env bash
# Installs what triptych needs on Debian 12 (as root): the engines, the tools, a Python venv.
# Idempotent: packages already present are not reinstalled; the venv is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  docker.io                                   # the container engine (dockerd + containerd + runc)
  libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
  dnsmasq-base                                # DHCP/DNS for the suite's libvirt network
  debootstrap                                 # builds the one userland every platform runs
  sysbench stress-ng fio iperf3 sockperf      # the benchmark tools, on the host too
  libvirt-dev pkg-config                      # to build libvirt-python
  iproute2 procps e2fsprogs                   # ip, pkill, mkfs.ext4 -d
  chromium                                    # renders the report in the tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "triptych: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
