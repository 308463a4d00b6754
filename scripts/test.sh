#!/usr/bin/env bash
# The test command: installs what is missing, starts the engines, runs lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# This run's own record of what it started: its stop leaves alone what was running before.
export TRIPTYCH_DAEMON_STATE="$PWD/.run/daemons-$$"
trap 'bash scripts/daemons.sh stop; rm -rf -- "$TRIPTYCH_DAEMON_STATE"' EXIT
bash scripts/daemons.sh start
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest tests/ "$@"
