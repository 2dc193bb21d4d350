"""Labelled face sources besides KDEF: FER+ and folders with one sub-folder per emotion.

Every source yields :class:`FaceRecord` values that the rest of the core treats alike: a key
unique within the source, a label, an optional soft target (FER+'s votes), the person where the
source knows it (for person-disjoint splits), the official part (``train``/``valid``/``test``)
where the source has one, and how the face is framed in the file:

- ``studio``: a KDEF portrait; the face is found (frontal, profile, fixed fallback);
- ``whole``: the file already is a face crop (FER's 48x48 faces): used as it is;
- ``photo``: any photo; the largest Haar face, else the whole image.

FER's crops show the face as the Haar box plus a 10% margin each side (the median box found on
FER+ Valid is 0.83 of the image side), which is the margin every other face gets, so a whole
FER image and a webcam face are framed alike.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from emotion_desktop.core.data.kdef import ScanResult, parse_name, scan
from emotion_desktop.core.emotions import INDEX_BY_NAME, NAMES, NUM_CLASSES
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.files import unreadable_reason, walk
from emotion_desktop.core.vision.images import is_image_file

# Names a labelled folder may use for each emotion (lower case).
SYNONYMS: dict[str, str] = {
    **{n: n for n in NAMES},
    "fear": "afraid",
    "fearful": "afraid",
    "scared": "afraid",
    "anger": "angry",
    "mad": "angry",
    "disgust": "disgusted",
    "happiness": "happy",
    "joy": "happy",
    "neutrality": "neutral",
    "calm": "neutral",
    "sadness": "sad",
    "surprise": "surprised",
    "surprized": "surprised",
}
# Sub-folder names of the official parts of a labelled folder (train/test, optional valid).
PART_NAMES: dict[str, str] = {
    "train": "train",
    "training": "train",
    "valid": "valid",
    "val": "valid",
    "validation": "valid",
    "test": "test",
    "testing": "test",
}
FERPLUS_PARTS: dict[str, str] = {
    "FER2013Train": "train",
    "FER2013Valid": "valid",
    "FER2013Test": "test",
}
# Vote columns of FER+'s label.csv, after the file name and the box.
FERPLUS_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happy",
    "surprised",
    "sad",
    "angry",
    "disgusted",
    "afraid",
    "contempt",
    "unknown",
    "not-a-face",
)


@dataclass(frozen=True)
class FaceRecord:
    """One labelled face image of a non-KDEF source (see the module docstring)."""

    path: Path
    key: str
    label: int
    framing: str
    part: str | None = None
    person: str | None = None
    target: tuple[float, ...] | None = None  # a distribution over NAMES; None: one-hot label


@dataclass
class SourceScan:
    """What a FER+ or labelled folder holds: its records and what was skipped, and why."""

    kind: str  # "ferplus" or "folder"
    folder: Path
    records: list[FaceRecord]
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    unreadable: dict[str, str] = field(default_factory=dict)  # file (relative) -> why

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Images per part (``all`` where the source has none) and emotion."""
        table: dict[str, dict[str, int]] = {}
        for r in self.records:
            row = table.setdefault(r.part or "all", dict.fromkeys(NAMES, 0))
            row[NAMES[r.label]] += 1
        return table

    def summary(self) -> str:
        parts = ", ".join(
            f"{part} {sum(row.values())}" for part, row in self.label_counts().items()
        )
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        name = "FER+" if self.kind == "ferplus" else "labelled"
        return f"{len(self.records)} {name} images in {self.folder} ({parts}); skipped: {skipped}"


def is_ferplus(folder: Path) -> bool:
    return any((folder / part / "label.csv").is_file() for part in FERPLUS_PARTS)


def ferplus_target(votes: Sequence[float]) -> tuple[int, tuple[float, ...]] | str:
    """FER+'s majority rule: (label, vote distribution over NAMES), or why the image is dropped.

    As in FER+'s own code, single votes are noise and removed; a label needs more than half of
    the remaining votes. Majorities of contempt, unknown or not-a-face drop the image (the app
    knows seven emotions), as does an image with no majority at all.
    """
    if len(votes) != len(FERPLUS_COLUMNS):
        return "malformed label row"
    kept = [v if v > 1 else 0.0 for v in votes]
    total = sum(kept)
    if total <= 0:
        return "no majority label"
    best = max(range(len(kept)), key=kept.__getitem__)
    if kept[best] <= total / 2:
        return "no majority label"
    name = FERPLUS_COLUMNS[best]
    if name not in INDEX_BY_NAME:
        return f"majority {name}"
    distribution = [0.0] * NUM_CLASSES
    for column, v in zip(FERPLUS_COLUMNS, kept):
        if column in INDEX_BY_NAME:
            distribution[INDEX_BY_NAME[column]] = v
    emotion_total = sum(distribution)
    return INDEX_BY_NAME[name], tuple(v / emotion_total for v in distribution)


def scan_ferplus(folder: Path) -> SourceScan:
    """Every FER+ image with a 7-class majority label, in its official part."""
    result = SourceScan("ferplus", folder, [])
    for sub, part in FERPLUS_PARTS.items():
        labels = folder / sub / "label.csv"
        if not labels.is_file():
            continue
        try:
            with labels.open(newline="") as f:
                rows = list(csv.reader(_bounded_lines(f, labels)))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"cannot read {labels}: {exc}") from exc
        for row in rows:
            if len(row) < 3:
                result.skipped["malformed label row"] += 1
                continue
            try:
                votes = [float(v) for v in row[2:]]
            except ValueError:
                result.skipped["malformed label row"] += 1
                continue
            outcome = ferplus_target(votes)
            if isinstance(outcome, str):
                result.skipped[outcome] += 1
                continue
            path = folder / sub / row[0]
            if not path.is_file():
                exists = path.exists() or path.is_symlink()
                reason = (unreadable_reason(path) if exists else None) or "missing file"
                result.skipped[reason] += 1
                continue
            label, target = outcome
            key = f"{sub}/{Path(row[0]).stem}"
            result.records.append(FaceRecord(path, key, label, "whole", part, None, target))
    if not result.records:
        raise DatasetError(f"no usable FER+ images in {folder}: {dict(result.skipped)}")
    return result


# A FER+ label row is under 100 characters; a longer line is no label row, and is refused
# before it is read whole (a 1 GB line took the scan to 2.2 GB before csv refused it).
MAX_LABEL_LINE = 2**16


def _bounded_lines(f: IO[str], path: Path) -> Iterator[str]:
    """The lines of ``f``, each read at most MAX_LABEL_LINE characters at a time;
    DatasetError, naming the file and line, at a longer one."""
    number = 0
    while line := f.readline(MAX_LABEL_LINE + 1):
        number += 1
        if len(line) > MAX_LABEL_LINE:
            raise DatasetError(
                f"{path} line {number} is over {MAX_LABEL_LINE // 1024} KB, which no FER+ label "
                "row is: is this FER+'s label.csv?"
            )
        yield line


def _emotion_of(name: str) -> str | None:
    return SYNONYMS.get(name.strip().lower())


def _emotion_folders(folder: Path) -> list[tuple[Path, str]]:
    return [
        (d, emotion)
        for d in sorted(folder.iterdir())
        if d.is_dir() and (emotion := _emotion_of(d.name)) is not None
    ]


def _unnamed_folders(root: Path, result: SourceScan, also_known: frozenset[str]) -> None:
    """Count and name the sub-folders of ``root`` that are no emotion's (``suprised/``): their
    images were dropped without a word. ``also_known`` are names meant for something else."""
    for d in sorted(root.iterdir()):
        name = d.name.lower()
        if not d.is_dir() or _emotion_of(d.name) is not None or name in also_known:
            continue
        images = sum(1 for p in walk(d) if is_image_file(p))
        if not images:
            continue
        result.skipped["in a folder named as no emotion"] += images
        result.unreadable[f"{d.relative_to(result.folder).as_posix()}/"] = (
            f"{images} images in a folder named as no emotion: rename it to one of "
            f"{', '.join(NAMES)}"
        )


def has_kdef_images(folder: Path, besides: set[Path]) -> bool:
    """Whether ``folder`` holds KDEF-named images outside the folders ``besides``."""
    for entry in sorted(folder.iterdir()):
        found = (is_image_file(p) and parse_name(p) for p in walk(entry))
        if entry not in besides and any(found):  # walk(file) gives the file itself
            return True
    return False


def is_labelled_folder(folder: Path) -> bool:
    try:
        if _emotion_folders(folder):
            return True
        return any(
            d.is_dir() and d.name.lower() in PART_NAMES and _emotion_folders(d)
            for d in folder.iterdir()
        )
    except OSError:
        return False


def scan_labelled_folder(folder: Path) -> SourceScan:
    """One sub-folder per emotion (``fear``, ``happiness``... accepted), optionally inside
    ``train``/``valid``/``test`` part folders, which then become the split."""
    result = SourceScan("folder", folder, [])
    parts = [
        (d, PART_NAMES[d.name.lower()])
        for d in sorted(folder.iterdir())
        if d.is_dir() and d.name.lower() in PART_NAMES
    ]
    roots: list[tuple[Path, str | None]] = parts or [(folder, None)]
    keys: set[str] = set()
    for root, part in roots:
        _unnamed_folders(root, result, frozenset(PART_NAMES) if root == folder else frozenset())
        for sub, emotion in _emotion_folders(root):
            for path in sorted(walk(sub)):
                reason = unreadable_reason(path)
                if reason is not None:
                    result.skipped["unreadable"] += 1
                    result.unreadable[path.relative_to(folder).as_posix()] = reason
                    continue
                if not is_image_file(path):
                    result.skipped["not an image"] += 1
                    continue
                key = path.relative_to(folder).with_suffix("").as_posix()
                if key in keys:  # a.jpg beside a.png: one key would split as one image
                    result.skipped["same name as another image"] += 1
                    continue
                keys.add(key)
                result.records.append(
                    FaceRecord(path, key, INDEX_BY_NAME[emotion], "photo", part, None, None)
                )
    if not result.records:
        raise DatasetError(
            f"no labelled images in {folder}: expected one sub-folder per emotion "
            f"({', '.join(NAMES)}; fear, disgust, happiness... also accepted)"
        )
    return result


Scan = ScanResult | SourceScan


def scan_source(folder: Path | str) -> Scan:
    """Whatever labelled source ``folder`` holds: FER+ (``FER2013Train/label.csv``...), a
    labelled folder (one sub-folder per emotion), else KDEF (DatasetError where none is found).
    """
    folder = Path(folder).expanduser()
    try:
        if folder.is_dir() and is_ferplus(folder):
            return scan_ferplus(folder)
        if folder.is_dir() and is_labelled_folder(folder):
            return _scan_labelled_alone(folder)
        return scan(folder)
    except OSError as exc:  # a name too long (ENAMETOOLONG), a folder that cannot be entered
        raise DatasetError(f"cannot read the folder {folder}: {exc.strerror or exc}") from exc


def _scan_labelled_alone(folder: Path) -> SourceScan:
    """A labelled folder, refused where it also holds KDEF images: which did the user mean?
    Read as a labelled folder, its KDEF images were ignored without a word."""
    labelled = {d for d, _ in _emotion_folders(folder)}
    labelled |= {d for d in folder.iterdir() if d.is_dir() and d.name.lower() in PART_NAMES}
    if has_kdef_images(folder, labelled):
        raise DatasetError(
            f"{folder} holds KDEF images and also folders named as emotions "
            f"({', '.join(sorted(d.name for d in labelled))}): move those folders out to "
            "train on KDEF, or the KDEF images out to train on the folders"
        )
    return scan_labelled_folder(folder)


def source_names(scans: Sequence[Scan]) -> list[str]:
    """A name per source, by kind, numbered where a kind repeats: kdef, ferplus, folder-2..."""
    names: list[str] = []
    for s in scans:
        n = sum(1 for other in scans[: len(names)] if other.kind == s.kind)
        names.append(s.kind if n == 0 else f"{s.kind}-{n + 1}")
    return names
