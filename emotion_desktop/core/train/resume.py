"""The resume file of a training run: its state after every finished epoch, so a cancelled or
crashed run continues from there, and the check that keeps a run from overwriting a file that
is not its own progress.
"""

from __future__ import annotations

from pathlib import Path

import torch

from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.files import atomic_write_bytes
from emotion_desktop.core.model.checkpoints import safe_torch_load
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.config import TrainConfig


def resume_path(out: Path) -> Path:
    """Where a run writing ``out`` keeps its state between epochs."""
    return Path(out).with_suffix(".partial.pt")


def run_identity(config: TrainConfig, identity: dict) -> dict:
    """What a resume file must record to be continued by a run: its configuration and the
    caller's ``identity`` (its data and splits)."""
    return {"config": config.to_dict(), **identity}


class ResumeFile:
    """The state of an unfinished run, rewritten atomically after every epoch.

    It is only used for a run with the same configuration and split; anything else starts anew.
    """

    def __init__(self, path: Path | None, identity: dict) -> None:
        self.path = path
        self.identity = identity
        self.state: dict = {}
        if path is not None and path.is_file():
            try:
                state = safe_torch_load(path, max_bytes=None)  # at 96 pixels, 300 MB
            except CheckpointError:
                state = {}
            if isinstance(state, dict) and state.get("identity") == identity:
                self.state = state

    @staticmethod
    def check_owner(path: Path, identity: dict) -> None:
        """CheckpointError unless ``path`` is absent or holds the progress of the run that
        ``identity`` names (see :func:`run_identity`). A run rewrites its resume file every
        epoch and deletes it once its model is saved, so anything else there (a model saved as
        ``x.partial.pt``, a fine-tune's base, another run's progress) would be lost."""
        if not path.exists():
            return
        try:
            state = safe_torch_load(path, max_bytes=None)
        except CheckpointError:
            state = None
        if not isinstance(state, dict) or "identity" not in state:
            raise CheckpointError(
                f"{path} is where this run would keep its progress and delete it when done, but "
                "it holds another file (a model?): rename that file, or choose another --out"
            )
        if state["identity"] != identity:
            raise CheckpointError(
                f"{path} holds the progress of another training run (other data or parameters): "
                f"finish that run with its own settings, or delete {path.name} (or choose "
                "another --out) to start this one"
            )

    def save(self, **state: object) -> None:
        self.state = {**self.state, **state, "identity": self.identity}
        if self.path is not None and distributed.is_main():
            try:
                atomic_write_bytes(self.path, lambda f: torch.save(self.state, f))
            except OSError as exc:
                raise CheckpointError(
                    f"could not save the run's progress to {self.path}: "
                    f"{exc.strerror or exc}. Free some space and start again to resume."
                ) from exc

    def remove(self) -> None:
        if self.path is not None and distributed.is_main():
            self.path.unlink(missing_ok=True)
