#!/usr/bin/env bash
# The main job: install, start the engines, run the suite on every available platform, write
# reports/index.html.  SCENARIO=scenarios/default.toml bash scripts/main.sh for the nightly run.
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${SCENARIO:-scenarios/quick.toml}
NAME=${NAME:-main}
STORAGE=${STORAGE:-.benchmarks}  # where runs are saved (and journalled), and the report reads
bash scripts/install.sh
# This run's own record of what it started: its stop leaves alone what was running before.
export TRIPTYCH_DAEMON_STATE="$PWD/.run/daemons-$$"
trap 'bash scripts/daemons.sh stop; rm -rf -- "$TRIPTYCH_DAEMON_STATE"' EXIT
bash scripts/daemons.sh start
.venv/bin/triptych images build
status=0
.venv/bin/pytest bench/ --benchmark-save="$NAME" --benchmark-storage="file://$STORAGE" \
  --triptych-scenarios="$SCENARIO" "$@" || status=$?
.venv/bin/triptych report "$STORAGE" -o reports/index.html
exit "$status"
