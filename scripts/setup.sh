#!/usr/bin/env bash
# Create .venv (once) and install the app into it; "test" adds the test tools.
# torch goes first and pinned: that CPU build is what the project is tested with, and asking
# pip for it before anything else keeps a dependency from pulling a multi-gigabyte CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
if [ "$extra" = test ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
