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
  libvirt-dev pkg-config                      # to build libvirt-python
  iproute2 procps e2fsprogs                   # ip, pkill, mkfs.ext4 -d
  chromium                                    # renders the report in the tests
)

# The benchmark tools, the services' servers and their load generators, as src/triptych/tools.py
# declares them (it runs on the system's python3 with no dependencies).
TOOL_PACKAGES=$(python3 src/triptych/tools.py)
[ -n "$TOOL_PACKAGES" ] || { echo "triptych: src/triptych/tools.py listed no packages" >&2; exit 1; }
mapfile -t TOOL_PACKAGES <<<"$TOOL_PACKAGES"
PACKAGES+=("${TOOL_PACKAGES[@]}")
# The container runtimes besides dockerd's own runc, as src/triptych/platforms/runtimes.py
# declares them (gVisor's runsc, crun): a scenario's `[docker] runtimes` chooses among them.
mapfile -t RUNTIME_PACKAGES < <(python3 src/triptych/platforms/runtimes.py packages)
PACKAGES+=("${RUNTIME_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "triptych: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Installing a server must not start it: the suite runs its own, in the foreground, and a
  # packaged one would hold the ports and the CPU. policy-rc.d tells invoke-rc.d so; one we put
  # there is removed afterwards (an existing one is left as it was).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The venv is installed again only when what it was installed from changed: the project's
# pyproject.toml and the interpreter (a stamp written after a successful install; pip's own
# no-op check of every requirement takes about 4 s, and the nightly job runs this each night).
stamp=.venv/.triptych-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -c 'import sys; print(sys.version)')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -f -- "$stamp"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  printf '%s\n' "$want" >"$stamp"
fi
