"""Fixtures of the widget tests: offscreen Qt, private settings, no worker thread left behind."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings


@pytest.fixture(autouse=True)
def private_settings(private_user_folders: Path) -> None:
    """The app's QSettings() in the test's own user folder."""
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(private_user_folders / "config"))


@pytest.fixture(autouse=True)
def earlier_garbage_collected_here() -> None:
    """Collect the earlier tests' cyclic garbage now, on the GUI thread. pyqtgraph leaves
    parentless menus (Python-owned Qt objects) in reference cycles; a collection that a later
    test's worker thread happened to run destroyed them there while the GUI thread destroyed
    others, each holding what the other waited for: the suite hung in
    test_three_hundred_starts_and_stops_stay_within_30_mb. The widgets the last test closed
    are deleted first, so that their garbage is among what is collected."""
    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture(autouse=True)
def no_thread_leak():
    """Fail a test that leaves a worker thread running (after it had its chance to stop)."""
    from emotion_desktop.gui.workers import running_threads

    yield
    assert running_threads() == 0, "a worker thread was left running"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A settings file of the test's own, as a tab is given one."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
