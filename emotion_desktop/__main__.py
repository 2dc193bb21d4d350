"""``python -m emotion_desktop`` opens the window, like the launcher does."""

from emotion_desktop.app import main

raise SystemExit(main())
