#!/usr/bin/env bash
# Starts dockerd, virtlogd and libvirtd if they are not running (there is no systemd here), and
# stops only the ones this script started, by the PIDs it recorded.
#   scripts/daemons.sh start | stop | status
set -euo pipefail
# PIDs of what this checkout started: a second checkout (or CI's clone) never stops ours.
# scripts/main.sh and scripts/test.sh give each of their runs a state of its own, so their
# `stop` stops only what that run's `start` started (never an engine started before them).
STATE=${TRIPTYCH_DAEMON_STATE:-$(cd "$(dirname "$0")/.." && pwd)/.run/daemons}
LOGS=${TRIPTYCH_DAEMON_LOGS:-/var/log/triptych}
mkdir -p "$STATE" "$LOGS"

running() { pgrep -x "$1" >/dev/null 2>&1; }

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "triptych: $name did not come up within ${secs}s (log: $LOGS/$name.log)" >&2
  return 1
}

kvm_device() {
  # Debian's udev rule gives /dev/kvm to group kvm, mode 0660; without udev it stays root-only,
  # libvirt then finds KVM "gone" for its qemu user and re-probes QEMU on every guest start
  # (about a minute each). Apply the same rule by hand.
  if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
}

start() {
  kvm_device
  if running dockerd; then
    echo "triptych: dockerd already running; leaving it alone" >&2
  else
    # The installed runtimes besides runc (gVisor's, one name per network mode), registered
    # as src/triptych/platforms/runtimes.py declares them.
    python3 "$(dirname "$0")/../src/triptych/platforms/runtimes.py" >"$STATE/dockerd.json"
    # In a session of its own: a caller's process group being killed (a test's timeout, a
    # session's end) never takes the engine with it; only `stop` does.
    setsid nohup dockerd --config-file "$STATE/dockerd.json" >"$LOGS/dockerd.log" 2>&1 &
    echo $! >"$STATE/dockerd.pid"
    wait_for dockerd 60 docker version --format '{{.Server.Version}}'
  fi
  if running virtlogd; then
    echo "triptych: virtlogd already running; leaving it alone" >&2
  else
    virtlogd -d
    wait_for virtlogd 10 pgrep -x virtlogd
    pgrep -x virtlogd >"$STATE/virtlogd.pid"
  fi
  if running libvirtd; then
    echo "triptych: libvirtd already running; leaving it alone" >&2
  else
    libvirtd -d
    wait_for libvirtd 30 test -S /var/run/libvirt/libvirt-sock
    pgrep -x libvirtd >"$STATE/libvirtd.pid"
  fi
}

stop() {
  for name in libvirtd virtlogd dockerd; do
    f="$STATE/$name.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null && [ "$(ps -o comm= -p "$pid")" = "$name" ]; then
      kill -TERM "$pid"
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$f"
  done
}

status() {
  for name in dockerd virtlogd libvirtd; do
    if running "$name"; then echo "$name: running"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
