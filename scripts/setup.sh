#!/usr/bin/env bash
# Create .venv (once) and install the app into it; "test" adds the test tools.
# torch goes first and pinned: that CPU build is what the project is tested with, and asking
# pip for it before anything else keeps a dependency from pulling a multi-gigabyte CUDA build.
# The install is editable, so only a changed pyproject.toml needs pip again: a stamp of it in
# .venv lets every later launch skip the 6 s that pip takes to find nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-app}
want="$(sha256sum pyproject.toml | cut -d' ' -f1) torch==2.13.0"
for done in "$extra" test; do  # the test install holds everything the app needs
  if [ -x .venv/bin/python ] && [ "$(cat ".venv/.installed-$done" 2>/dev/null)" = "$want" ]; then
    exit 0
  fi
  [ "$extra" = app ] || break
done
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
if [ "$extra" = test ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "$want" > ".venv/.installed-$extra"
