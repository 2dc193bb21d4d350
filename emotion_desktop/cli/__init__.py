"""Headless command line: ``emotion-desktop-cli train | evaluate | label | ensemble``.

The same core calls as the window, so a GPU server (or ``torchrun`` on a cluster) can train the
model the desktop then loads. Errors the user can cause end in one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from emotion_desktop.cli.arguments import build_parser
from emotion_desktop.core.errors import EmotionDesktopError
from emotion_desktop.core.runtime import configure_for_labelling, configure_torch


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a ``timeout``, a scheduler's time limit, a closed terminal), raised
    as Ctrl+C is, so that a run ends as an interrupted one does: ``label --out x.json``
    writes the rows it has, where the default action killed it with no file at all."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with _terminations_interrupt():
        return _run(args)


@contextlib.contextmanager
def _terminations_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` while a command runs (signals reach the
    main thread only; the handlers before are restored after, for a caller such as a test)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kinds = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    before = {signum: signal.signal(signum, _raise_terminated) for signum in kinds}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _run(args: argparse.Namespace) -> int:
    if args.command == "label":
        configure_for_labelling()
    else:
        configure_torch()
    try:
        return args.func(args)
    except EmotionDesktopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses: too long, unreadable, not a folder
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        message = {
            "train": "interrupted; run the same command again to resume from the last epoch",
            "label": "interrupted; the rows written so far are kept",
        }.get(args.command, "interrupted")
        with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) takes stderr with it
            print(message, file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130
