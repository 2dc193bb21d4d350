#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle and smoke-test it: prints the bundle size and the
# smoke test's output. Usage: scripts/bundle.sh [IMAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python -m pip install -q -e '.[bundle]'
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN build.spec
echo "build: $(( $(date +%s) - start )) s"
echo "bundle size: $(du -sh dist/emotion-desktop | cut -f1)"
QT_QPA_PLATFORM=offscreen dist/emotion-desktop/emotion-desktop --smoke-test "$@"
