#!/usr/bin/env bash
# Install (first time) and launch the desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/emotion-desktop "$@"
