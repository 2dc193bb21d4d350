#!/usr/bin/env bash
# Create .venv (once) and install the app into it; "test" adds the test tools.
# torch goes first and pinned: that CPU build is what the project is tested with, and asking
# pip for it before anything else keeps a dependency from pulling a multi-gigabyte CUDA build.
# The install is editable, so only a changed pyproject.toml, or a moved folder (an editable
# install points at the folder it was made from), needs pip again: a stamp of both in .venv
# lets every later launch skip the 6 s that pip takes to find nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-app}
want="$(sha256sum pyproject.toml | cut -d' ' -f1) torch==2.13.0 $PWD"
enough=(".venv/.installed-$extra")
[ "$extra" = app ] && enough+=(.venv/.installed-test)  # the test install holds the app's too
for stamp in "${enough[@]}"; do
  [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && exit 0
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
