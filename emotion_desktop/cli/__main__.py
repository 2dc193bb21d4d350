"""``python -m emotion_desktop.cli``: the command line."""

from emotion_desktop.cli import main

raise SystemExit(main())
