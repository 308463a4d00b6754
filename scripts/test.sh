#!/usr/bin/env bash
# The test command: installs what is missing, starts the engines, runs lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/daemons.sh start
trap 'bash scripts/daemons.sh stop' EXIT
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest tests/ "$@"
