"""Writing files so that a crash or a full disk never leaves a half-written one.

Kept apart from the model code so that modules which only write small files (the active-model
record, cards) do not import torch: that import costs a second of start-up.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place.

    A crash or a full disk leaves the old file intact and no half-written one behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide a model or card from other users
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                write(f)
            except RuntimeError as exc:  # torch.save reports a full disk as a RuntimeError
                raise OSError(errno.EIO, f"writing failed ({exc}); is the disk full?") from exc
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode()))
