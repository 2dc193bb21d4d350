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
# the core's tests where Qt cannot be imported (as on a headless server without PySide6), then the
# widgets' tests, with pytest-qt failing any test that makes Qt warn
echo "== pytest tests/core (no Qt)"
EMOTION_DESKTOP_TEST_NO_QT=1 .venv/bin/python -m pytest -p no:pytest-qt tests/core "$@"
echo "== pytest tests/gui"
.venv/bin/python -m pytest tests/gui "$@"
