"""Process-wide settings made once at start-up, by the app and by the CLI.

torch's intra-op thread count belongs to the whole process: a tab that changed it while it ran
(Live once set one thread) also changed it for a training run started meanwhile, which then
trained, and recorded in its card, on one core. So it is set here, once, and nothing else sets it.
"""

from __future__ import annotations

import cv2
import torch

_configured: int | None = None


def configure_torch(threads: int | None = None) -> int:
    """Give torch ``threads`` intra-op threads, once per process; later calls change nothing and
    return the number in force. The default keeps torch's own choice (one per physical core, or
    ``OMP_NUM_THREADS``, which torchrun sets for each of its processes)."""
    global _configured
    if _configured is None:
        _configured = max(1, threads or torch.get_num_threads())
        torch.set_num_threads(_configured)
    return _configured


def configure_for_labelling() -> int:
    """The thread settings of a process that only labels photos (``label``): one torch and one
    OpenCV thread, because the labelling loop's own pool keeps every core busy, and their extra
    threads only fight it for the cores (33 against 27 images/s on 2 cores)."""
    cv2.setNumThreads(1)
    return configure_torch(1)
