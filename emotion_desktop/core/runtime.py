"""How many threads each kind of work computes with: the one place that decides it.

torch's intra-op threads are OpenMP's, and OpenMP keeps the count **per thread**: a worker that
sets it changes its own parallel regions and no other thread's. torch also keeps one count for
the whole process, which a thread takes at its first torch call; ``torch.set_num_threads``
changes both. So a tab that set one thread once (Live did) also gave one thread to a training
run started later, which trained, and recorded in its card, on one core. Here:

- :func:`configure_torch` sets the process's count once, at start-up (app and CLI);
- :func:`use_threads` gives the calling thread the count its kind of :class:`Work` runs best
  with, and puts the process's count back for the threads that start later.

Why Live and labelling compute on one thread: an OpenMP region splits its work evenly between
its threads and waits for the last one. A Live frame is a batch of one to four 48-pixel faces,
a few milliseconds of work: when another program holds the second core, the region waits a
whole scheduler slice for its second thread, and a 6 ms step took 100-300 ms (step p95 207 ms
with one busy process beside it, against 30 ms on one thread). Labelling classifies batches of
eight photos on its calling thread while its pool decodes and detects on every core: one torch
thread there labelled 9-14 images/s against 6 with two (Batch tab, shared photos, a loaded
machine). Training's batches are large enough to gain from every core, and keep the
process's count.

OpenCV's thread count is one for the whole process (its pthreads pool), so it is left alone
except by a process that only labels (:func:`configure_for_labelling`). Its pool hands out
stripes as threads come free, so a late thread costs it little: Live's detection under load
took 42-52 ms (p50) with two threads against 59-62 ms with one.
"""

from __future__ import annotations

import threading
from enum import Enum

import cv2
import torch

_configured: int | None = None
_lock = threading.Lock()


class Work(Enum):
    """The kinds of work that compute with torch, each with its own thread count."""

    LIVE = "live"  # one frame's few faces, 24 times a second, beside other programs
    LABELLING = "labelling"  # batches of a few faces while a pool of threads decodes and detects
    TRAINING = "training"  # batches of 64 and their gradients: every core helps


def configure_torch(threads: int | None = None) -> int:
    """Give torch ``threads`` intra-op threads, once per process; later calls change nothing and
    return the number in force. The default keeps torch's own choice (one per physical core, or
    ``OMP_NUM_THREADS``, which torchrun sets for each of its processes)."""
    global _configured
    with _lock:
        if _configured is None:
            _configured = max(1, threads or torch.get_num_threads())
            torch.set_num_threads(_configured)
        return _configured


def threads_for(work: Work) -> int:
    """The torch threads ``work`` computes with: one for a frame or a small batch, whose
    parallel regions are too short to gain from a second thread and lose a scheduler slice
    whenever another program holds a core; the process's count for training."""
    if work is Work.TRAINING:
        return configure_torch()
    return 1


def use_threads(work: Work) -> int:
    """Give the calling thread the torch threads of ``work`` and return the count; call it on
    the thread that will compute, before its first tensor. Other threads keep theirs, and
    threads started later still take the process's count (:func:`configure_torch`)."""
    configure_torch()  # the count to restore: the process's, torch's own where none was set
    wanted = threads_for(work)
    # torch sets a thread's count from the process's at its first call; done here, that set-up
    # cannot come later and overwrite the count set below.
    if torch.get_num_threads() != wanted:
        with _lock:
            torch.set_num_threads(wanted)  # this thread's count, and the process's
            _restore_process_count()
    return wanted


def _restore_process_count() -> None:
    """Make the process's count the configured one again: ``torch.set_num_threads`` from a
    thread of its own, whose own count does not matter (it ends at once)."""
    restorer = threading.Thread(target=torch.set_num_threads, args=(_configured,))
    restorer.start()
    restorer.join()


def configure_for_labelling() -> int:
    """The thread settings of a process that only labels photos (``label``): one torch and one
    OpenCV thread, because the labelling loop's own pool keeps every core busy, and their extra
    threads only fight it for the cores (33 against 27 images/s on 2 cores)."""
    cv2.setNumThreads(1)
    return configure_torch(1)
