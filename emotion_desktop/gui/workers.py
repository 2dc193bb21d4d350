"""The one pattern for running core work off the GUI thread.

A :class:`Task` wraps a plain function ``fn(report, cancelled) -> result`` from the core: the
function runs on its own QThread, calls ``report(payload)`` for progress (a frozen dataclass from
the core) and polls ``cancelled()`` between batches. The task turns these into signals, which Qt
queues to the GUI thread. Widgets never touch the thread; they call ``start``, ``cancel`` and
``stop``, and ``stop`` (called on window close) joins the thread.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from emotion_desktop.core.errors import EmotionDesktopError, TrainingCancelled

log = logging.getLogger(__name__)
BACKGROUND_NICE = 10  # added to a background task's nice value: the GUI thread preempts it
_RUNNING: set[QThread] = set()  # every worker thread started and not yet joined
TaskFn = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


def freeze_startup_heap() -> None:
    """Exempt every object alive now (torch, Qt, numpy, the widgets) from garbage collection.

    Call once the window is built. A full collection walks every tracked object while holding
    the GIL: with torch and Qt loaded that is 50-100 ms, and a worker allocating tensors triggers
    one every few seconds, freezing the GUI thread for that long. Objects alive after start-up
    live until exit anyway, so the collector only needs to look at what comes after.
    """
    gc.freeze()


# What a training run's first optimizer imports (torch.optim imports torch._dynamo, and sympy
# with it, when the first optimizer is made): 1.5 s of Python on one core.
TRAINING_IMPORTS = ("torch._dynamo",)


def preload_training_imports() -> threading.Thread:
    """Import :data:`TRAINING_IMPORTS` on a thread of their own and exempt what they made from
    garbage collection, as :func:`freeze_startup_heap` does; join the thread before exit.

    Call once the window is shown. Imported by the first training run instead, they held the
    GIL in stretches that froze the window for 50-80 ms while Live was playing, and added 1.5 s
    to that run. At start-up nothing is playing yet, and the window is already on screen.
    """

    def preload() -> None:
        for module in TRAINING_IMPORTS:
            importlib.import_module(module)
        gc.freeze()

    thread = threading.Thread(target=preload, name="preload-training-imports")
    thread.start()
    return thread


def _lower_this_thread_priority() -> None:
    """Let the GUI thread win the CPU over this thread and the compute threads it starts.

    On a 2-core laptop torch's two OpenMP threads keep both cores busy, and the GUI thread waits
    its turn for 50-100 ms. On Linux a raised nice value is per thread and inherited by the
    OpenMP pool this thread creates (Qt's LowPriority is a no-op there); elsewhere Qt maps
    LowPriority onto the native thread priority.
    """
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICE
        os.setpriority(os.PRIO_PROCESS, thread, min(nice, 19))
    else:
        QThread.currentThread().setPriority(QThread.Priority.LowPriority)


def running_threads() -> int:
    """How many worker threads are alive; tests fail any test that leaves one running."""
    return sum(1 for t in _RUNNING if t.isRunning())


def wait_for_workers(timeout_s: float | None = None) -> bool:
    """Join every worker thread still running, for the end of the app once its window is gone;
    True when all ended (within ``timeout_s`` where one is given; None waits as long as it takes).

    The window's close joins each task for ten seconds, but a step that cannot be cancelled (a
    finished training run saving its model, a camera that is slow to open) may take longer, and
    a QThread destroyed while it runs aborts the whole process: whatever it was saving is lost.
    No events are processed here any more, so each thread is told to quit directly: its run
    ends it on its own thread too (see :meth:`Task.start`), never through the GUI's event loop.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    for thread in list(_RUNNING):
        thread.quit()  # a run still going keeps running; the thread ends after it
        if deadline is None:
            thread.wait()
        elif not thread.wait(max(0, round((deadline - time.monotonic()) * 1000))):
            return False
    return True


class _Runner(QObject):
    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(
        self, fn: TaskFn, cancel_flag: threading.Event, background: bool, keep_result: bool
    ) -> None:
        super().__init__()
        self._home = self.thread()  # where it is made, and where it is deleted
        self._fn = fn
        self._cancel = cancel_flag
        self._background = background
        self._keep_result = keep_result

    @Slot()
    def run(self) -> None:
        if self._background:
            _lower_this_thread_priority()
        try:
            result = self._fn(self.progressed.emit, self._cancel.is_set)
        except TrainingCancelled:
            self.cancelled.emit()
        except EmotionDesktopError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: log it whole, show one line, keep the window alive
            log.error("background task failed:\n%s", traceback.format_exc())
            self.failed.emit(f"unexpected error: {exc!r} (details in the log file)")
        else:
            if self._cancel.is_set() and not self._keep_result:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            # What the function holds (a video source, its last frames, a model) goes now, and
            # the runner goes home: deleteLater from the GUI thread would otherwise wait forever
            # on this thread's ended event loop (each Live Start/Stop kept 0.7 MB that way). It is
            # not deleted here, because its queued signals still name it as their sender.
            self._fn = None
            self.moveToThread(self._home)
            self.done.emit()


class Task(QObject):
    """Runs one function at a time on a worker thread; reusable after it finishes.

    Signals: ``progress_changed(object)``, ``finished(object)`` with the result,
    ``failed(str)`` with a message for the user, ``cancelled()``, and ``stopped()`` after any
    of the three, once the thread has ended. A ``background`` task (minutes of compute, such as
    training) runs at a lower priority than the GUI thread. A function that returns after a
    cancel was asked for is taken as cancelled (a batch stopped between two photos), unless
    ``keep_result``: a training run that saved its model before it saw the cancel is finished,
    and showing it as cancelled hides a saved model.

    Each run has its own runner object, and only the current run's events are passed on: what a
    run joined by :meth:`stop` had already queued (Clear in the middle of a batch) is dropped
    when it arrives, so it never reaches the widgets' next state.
    """

    progress_changed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    stopped = Signal()

    def __init__(
        self, parent: QObject | None = None, background: bool = False, keep_result: bool = False
    ) -> None:
        super().__init__(parent)
        self._background = background
        self._keep_result = keep_result
        self._thread: QThread | None = None
        self._runner: _Runner | None = None
        self._cancel = threading.Event()
        self._retiring: dict[QThread, _Runner] = {}  # cancelled runs still ending on their own

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, fn: TaskFn) -> None:
        if self._thread is not None:
            raise RuntimeError("a task is already running")
        self._cancel = threading.Event()
        self._thread = QThread()
        self._runner = _Runner(fn, self._cancel, self._background, self._keep_result)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progressed.connect(self._on_progressed)
        self._runner.succeeded.connect(self._on_succeeded)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)
        # Direct: the worker thread ends its own event loop when the run is done. Queued to the
        # QThread object (which lives on the GUI thread), the quit waited for the GUI's event
        # loop, and a run started as the window closed kept its thread, and the app, forever.
        self._runner.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        thread = self._thread
        # Bound to this thread: a late ``finished`` of a thread that stop() already joined must
        # not tear down the next run's thread.
        thread.finished.connect(lambda: self._on_thread_finished(thread))
        _RUNNING.add(self._thread)
        self._thread.start()

    def _from_current_run(self) -> bool:
        return self._runner is not None and self.sender() is self._runner

    @Slot(object)
    def _on_progressed(self, payload: object) -> None:
        if self._from_current_run():
            self.progress_changed.emit(payload)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        if self._from_current_run():
            self.finished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._from_current_run():
            self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        if self._from_current_run():
            self.cancelled.emit()

    def cancel(self) -> None:
        """Ask the function to stop at its next check; ``cancelled`` follows."""
        self._cancel.set()

    def retire(self) -> None:
        """Cancel the run and let its thread end on its own: returns at once, and the task can
        start again straight away. ``stopped`` is emitted now; the run's late events are
        dropped (only the current run's pass), and :meth:`stop` joins it if it is still alive."""
        if self._thread is None or self._runner is None:
            return
        self._cancel.set()
        self._thread.quit()
        self._retiring[self._thread] = self._runner
        self._thread = self._runner = None
        self.stopped.emit()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Cancel and join the thread (and any retired one still ending); True when all ended
        within the timeout. For window close, where nothing may outlive the window."""
        ended = True
        for thread in list(self._retiring):
            if thread.wait(timeout_ms):
                self._on_thread_finished(thread)
            else:
                ended = False
        if self._thread is None:
            return ended
        self._cancel.set()
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            self._on_thread_finished(self._thread)
            return ended
        return False

    def _on_thread_finished(self, thread: QThread) -> None:
        runner = self._retiring.pop(thread, None)
        if runner is not None:  # a retired run has ended: only its objects to free
            _RUNNING.discard(thread)
            thread.deleteLater()
            runner.deleteLater()
            return
        if self._thread is not thread:
            return
        _RUNNING.discard(self._thread)
        self._thread.deleteLater()
        if self._runner is not None:
            self._runner.deleteLater()
        self._thread = None
        self._runner = None
        self.stopped.emit()
