#!/usr/bin/env bash
# Install (first time) and run every check: lint, the core-has-no-Qt contract, the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export QT_QPA_PLATFORM=offscreen
# one command per line: under set -e a failure left of && does not stop the script
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== import contract"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/python -m pytest "$@"
