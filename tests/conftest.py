"""Shared fixtures without Qt: private user folders, a generated KDEF folder, a tiny model.

No test needs a display, a camera, a GPU, the network or KDEF itself. The widgets' fixtures
(offscreen Qt, settings, the thread-leak check) are in ``tests/gui/conftest.py``; the tests
in ``tests/core`` run where PySide6 is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.train.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Seven mouth shapes and brow tilts a small CNN can tell apart, drawn on a face-like ellipse.
_MOUTHS = {
    "AF": ("ellipse", 10, 14),
    "AN": ("line", -6, 0),
    "DI": ("line", 6, 0),
    "HA": ("smile", 0, 0),
    "NE": ("line", 0, 0),
    "SA": ("frown", 0, 0),
    "SU": ("ellipse", 8, 8),
}


def draw_face(code: str, person: int, angle_shift: int = 0, size: int = 96) -> np.ndarray:
    """A synthetic grey 'face' whose mouth encodes the expression ``code``."""
    rng = np.random.default_rng(person * 31 + len(code) + angle_shift)
    img = np.full((round(size * 1.3), size), 90 + person * 7 % 60, np.uint8)
    cx, cy = size // 2 + angle_shift, round(size * 0.6)
    cv2.ellipse(img, (cx, cy), (size // 3, size // 2 - 4), 0, 0, 360, 200, -1)
    for ex in (cx - size // 8, cx + size // 8):
        cv2.circle(img, (ex, cy - size // 8), 3, 30, -1)
    kind, a, b = _MOUTHS[code]
    my = cy + size // 6
    if kind == "ellipse":
        cv2.ellipse(img, (cx, my), (a, b // 2 + 2), 0, 0, 360, 40, -1)
    elif kind == "line":
        cv2.line(img, (cx - 12, my + a), (cx + 12, my - a), 40, 3)
    else:
        start, end = (0, 180) if kind == "smile" else (180, 360)
        cv2.ellipse(img, (cx, my - (4 if kind == "smile" else -4)), (12, 8), 0, start, end, 40, 3)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def write_kdef_folder(root: Path, people: int = 6, angles: tuple[str, ...] = ("S", "HL")) -> Path:
    """KDEF-named JPEGs (original nested layout) for ``people`` actors, both sessions."""
    for session in "AB":
        for p in range(1, people + 1):
            sex = "F" if p % 2 else "M"
            folder = root / f"{session}{sex}{p:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for e in EMOTIONS:
                for i, angle in enumerate(angles):
                    img = draw_face(e.kdef_code, p, angle_shift=4 * i)
                    name = f"{session}{sex}{p:02d}{e.kdef_code}{angle}.JPG"
                    cv2.imwrite(str(folder / name), img)
    return root


# FER+'s vote columns for each KDEF code (see core.sources.FERPLUS_COLUMNS).
_FERPLUS_COLUMN = {"NE": 0, "HA": 1, "SU": 2, "SA": 3, "AN": 4, "DI": 5, "AF": 6}


def write_ferplus_folder(root: Path, per_part: dict[str, int] | None = None) -> Path:
    """A FER+ layout of generated 48x48 faces: ``FER2013{Train,Valid,Test}/`` with PNGs and
    ``label.csv`` rows of ten votes, a clear majority for the drawn expression (7 of 10, one
    stray single vote that the majority rule removes). Each part also gets one contempt-majority
    row, which a scan must drop."""
    per_part = per_part or {"Train": 4, "Valid": 1, "Test": 2}
    number = 0
    for offset, (part, people) in enumerate(per_part.items()):
        folder = root / f"FER2013{part}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for p in range(people):
            for e in EMOTIONS:
                face = cv2.resize(draw_face(e.kdef_code, 20 * offset + 20 + p), (48, 48))
                name = f"fer{number:07d}.png"
                number += 1
                cv2.imwrite(str(folder / name), face)
                votes = [0] * 10
                votes[_FERPLUS_COLUMN[e.kdef_code]] = 7
                votes[(_FERPLUS_COLUMN[e.kdef_code] + 1) % 7] = 2
                votes[8] = 1
                rows.append(",".join([name, '"(0, 0, 48, 48)"', *map(str, votes)]))
        cv2.imwrite(str(folder / "contempt.png"), np.full((48, 48), 128, np.uint8))
        rows.append('contempt.png,"(0, 0, 48, 48)",1,0,0,0,0,0,0,8,1,0')
        (folder / "label.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(autouse=True)
def private_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """Each test gets its own data, cache and log folders: nothing touches the real ones."""
    base = tmp_path_factory.mktemp("user")
    for name in ("DATA", "CACHE", "LOG"):
        monkeypatch.setenv(f"EMOTION_DESKTOP_{name}_DIR", str(base / name.lower()))
    return base


@pytest.fixture(scope="session")
def kdef_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kdef_folder(tmp_path_factory.mktemp("kdef"))


@pytest.fixture(scope="session")
def ferplus_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ferplus_folder(tmp_path_factory.mktemp("ferplus"))


@pytest.fixture(scope="session")
def tiny_config() -> TrainConfig:
    """Seconds on two cores: 24-pixel crops, a few epochs of each stage."""
    return TrainConfig(
        input_size=24,
        epochs_cae=2,
        epochs_cnn=12,
        batch_size=16,
        lr=3e-3,
        val_fraction=0.15,
        augment=False,
        dropout=0.1,
    )


@pytest.fixture(scope="session")
def tiny_model(kdef_folder: Path, tiny_config: TrainConfig, tmp_path_factory) -> Path:
    """A model trained once on the generated folder and shared by the read-only tests."""
    from emotion_desktop.core.data.prepare import DataOptions
    from emotion_desktop.core.train.run import train_from_folder

    out = tmp_path_factory.mktemp("model") / "tiny.pt"
    train_from_folder(DataOptions(kdef_folder), tiny_config, out, cache_dir=None)
    return out


@pytest.fixture
def own_model(tiny_model: Path) -> Path:
    """A copy of the tiny model (with card and splits) in the user's models folder."""
    from emotion_desktop.core import paths
    from emotion_desktop.core.model.library import companions

    folder = paths.models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for file in companions(tiny_model):
        shutil.copyfile(file, folder / file.name)
    return folder / tiny_model.name


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "faces").is_dir():
        pytest.skip(f"the shared face samples are not at {SHARED_DATA} (CI always has them)")
    return SHARED_DATA
