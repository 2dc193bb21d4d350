"""Walking folders so that nothing in them is passed over in silence, and writing files so
that a crash or a full disk never leaves a half-written one.

Kept apart from the model code so that modules which only write small files (the active-model
record, cards) do not import torch: that import costs a second of start-up.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def walk(folder: Path) -> Iterator[Path]:
    """Everything below ``folder`` that is not a folder, sorted, one listing at a time: files,
    and whatever else sits there (a pipe, a broken link) for the caller to report with
    :func:`unreadable_reason`. A folder that cannot be listed is yielded itself. Links to
    folders are the one thing left out, on purpose: following them can make cycles.

    A stack of listings, not recursion: a folder 1,000 levels deep stopped the walk (and the
    whole run) with a RecursionError."""
    top = _listing(Path(folder))
    if top is None:
        yield Path(folder)
        return
    stack = [iter(top)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                listing = _listing(path)
                if listing is None:
                    yield path
                else:
                    stack.append(iter(listing))
                continue
            if entry.is_symlink() and entry.is_dir():
                continue
        except OSError:  # a link to itself (ELOOP): unreadable_reason says so
            pass
        yield path


def _listing(folder: Path) -> list[os.DirEntry] | None:
    """A folder's entries by name; empty where it was removed since its parent was listed,
    None where it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError:
        return None


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` (from :func:`walk`) is not a regular file that can be read; None if it is."""
    try:
        mode = os.stat(path).st_mode
    except PermissionError as exc:
        # a folder with read but not search permission lists its files, none of which opens
        if not os.access(os.path.dirname(path) or ".", os.X_OK):
            return "cannot enter this folder: permission denied"
        return f"cannot read it: {exc.strerror or exc}"
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        try:
            os.listdir(path)
        except OSError as exc:
            return f"cannot list this folder: {exc.strerror or exc}"
        return "this folder could not be listed while the folder above it was walked"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, device or socket)"
    return None


def path_text(path: Path | str) -> str:
    """``path`` as text any UTF-8 reader takes. A Linux file name may hold bytes that are not
    UTF-8 (``bad\\xff.jpg``); Python keeps them as lone surrogates, which no UTF-8 file can
    hold, so they are written as ``\\xff`` escapes: one odd name must not stop a results file
    or make it unreadable for every spreadsheet and data frame."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file, through links and hard links alike: comparing paths
    misses a hard-linked copy, which then reads as a second file. False where either is missing
    or unreadable."""
    try:
        return os.path.samefile(a, b)
    except (OSError, RuntimeError):
        return False


class AtomicFile:
    """A temporary file beside ``path`` (``file``, opened with ``mode``) that :meth:`commit`
    renames into place and :meth:`discard` removes: a crash or a full disk leaves the old file
    intact and no half-written one behind."""

    def __init__(self, path: Path, mode: str = "wb", encoding: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide a model or card from other users
        self._tmp = Path(tmp)
        self.file = os.fdopen(fd, mode, encoding=encoding)

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self._tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call ``write(file)`` on an :class:`AtomicFile` for ``path``, then rename it into place."""
    out = AtomicFile(path)
    try:
        try:
            write(out.file)
        except RuntimeError as exc:  # torch.save reports a full disk as a RuntimeError
            raise OSError(errno.EIO, f"writing failed ({exc}); is the disk full?") from exc
        out.commit()
    except BaseException:
        out.discard()
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode()))


def read_small_text(path: Path, max_bytes: int) -> str:
    """The text of a small file the app keeps beside its own (a card, a split, a record).

    OSError, with the file unread, unless ``path`` is a regular file of at most ``max_bytes``:
    opening a named pipe for reading blocks until someone writes to it, a device can stream
    without end, and a file of gigabytes would be read whole (and parsed into several times its
    size) before anything could refuse it. The file is opened without blocking and checked on
    the open descriptor, so nothing swapped in after a check is read either."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a pipe, device or socket)", str(path))
        if info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"larger than {max_bytes // 2**20} MB", str(path))
        data = f.read(max_bytes + 1)  # it may have grown since fstat
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {max_bytes // 2**20} MB", str(path))
    return data.decode()


def read_json(path: Path, max_bytes: int) -> Any:
    """:func:`read_small_text` parsed as JSON; ValueError where it is not JSON, including
    nesting too deep for the parser ("[" * 100000 raises RecursionError, which no reader
    expects from a damaged file)."""
    text = read_small_text(path, max_bytes)
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError(f"{path} is nested too deeply to be JSON the app wrote") from exc
