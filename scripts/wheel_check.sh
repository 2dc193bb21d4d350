#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment (torch first, as set-up does) and
# run the smoke test from there: a non-editable install must carry its models and icons.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip wheel -q --no-deps -w "$work/dist" .
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q torch==2.13.0
"$work/venv/bin/python" -m pip install -q "$work"/dist/*.whl
photo=$(find "$(pwd)/../shared/data/faces" -name '*.jpg' 2>/dev/null | sort | head -1 || true)
cd "$work"  # away from the source tree: only the installed package can answer
# a user folder of its own: a model made active on this machine must not stand in for the shipped one
export EMOTION_DESKTOP_DATA_DIR="$work/data"
out=$(QT_QPA_PLATFORM=offscreen venv/bin/emotion-desktop --smoke-test ${photo:+"$photo"})
echo "$out"
grep -q "model: $work/venv/.*/emotion_desktop/resources/models/default.pt" <<<"$out"
