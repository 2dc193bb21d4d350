"""The core's tests run without Qt: with EMOTION_DESKTOP_TEST_NO_QT set (``scripts/test.sh``
sets it for this folder), importing PySide6 or pyqtgraph fails, as where neither is installed,
so a core module or a test here that needs Qt fails instead of passing by accident."""

from __future__ import annotations

import importlib.abc
import os
import sys

QT = ("PySide6", "pyqtgraph", "shiboken6")


class _NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201
        if name.split(".")[0] in QT:
            raise ImportError(f"{name} is not available to the core's tests")
        return None


if os.environ.get("EMOTION_DESKTOP_TEST_NO_QT"):
    if any(name.split(".")[0] in QT for name in sys.modules):
        raise RuntimeError("Qt was imported before the core's tests: run them with -p no:pytest-qt")
    sys.meta_path.insert(0, _NoQt())
