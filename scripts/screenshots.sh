#!/usr/bin/env bash
# Screenshots of every tab at the window sizes the app is laid out for, and at a device pixel
# ratio of 2, into docs/screens/ (the README shows them). Runs the app under Xvfb through
# ../shared/tools/screens.sh, with private settings and data folders so the user's own models
# and folders stay out of the pictures.
# Usage: scripts/screenshots.sh [KDEF_DIR [SECOND_SOURCE_DIR]]
set -euo pipefail
cd "$(dirname "$0")/.."
shots=../shared/tools/screens.sh
[ -x "$shots" ] || { echo "needs $shots (the project's screenshot tool)"; exit 2; }
app=$(pwd)/.venv/bin/emotion-desktop
out=docs/screens
mkdir -p "$out"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
conf="$home/config/emotion-desktop/Emotion Desktop.conf"
mkdir -p "$(dirname "$conf")"

shoot() {  # NAME SCREEN WINDOW [extra env...]
    local name=$1 screen=$2 window=$3; shift 3
    # the same settings each time: remembered geometry and tab would change the pictures
    printf '[training]\nrecent=%s\nextra_folder=%s\n' "${1:-}" "${2:-}" > "$conf"
    env XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" SIZE="$screen" SETTLE=6 \
        "${ENV_EXTRA[@]}" "$shots" "$home/shots" "$app" -qwindowgeometry "$window+0+0" \
        | grep launch-to-window | sed "s/^/$name /"
    for i in 0 1 2; do
        cp "$home/shots/tab$i.png" "$out/$name-$(echo live batch training | cut -d' ' -f$((i + 1))).png"
    done
}

kdef=${1:-}
more=${2:-}
for size in 1280x720 1366x768 1920x1080; do
    ENV_EXTRA=(QT_SCALE_FACTOR=1)
    shoot "$size" "$size" "$size" "$kdef" "$more"
done
ENV_EXTRA=(QT_SCALE_FACTOR=2)  # a high-DPI laptop: 1280x720 logical pixels on a 2560x1440 panel
shoot "1280x720@2x" 2560x1440 1280x720 "$kdef" "$more"
ls "$out"
