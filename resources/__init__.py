"""Data the app reads at run time, installed as the package ``emotion_desktop.resources``:
the shipped models with their cards and splits, the icons and the ``.desktop`` template."""
