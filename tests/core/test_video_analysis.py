"""Videos read offline into per-frame, per-face rows: tracked ids, Live's faces and labels,
sampling, the CLI, and every kind of bad video listed under Problems with the run going on."""

import csv
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.core.batch.labelling import LabelSummary, label_paths
from emotion_desktop.core.batch.results import LabelRow, Problem
from emotion_desktop.core.batch.video import Sampling, VideoProgress, label_video
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.stream.frames import LiveOptions, LivePipeline, make_predictor
from emotion_desktop.core.stream.tracking import FaceTracker
from emotion_desktop.core.stream.video import VideoSource
from tests.conftest import draw_face
from tests.core.test_cli import label

SIZE = (320, 240)  # width, height of the videos the tests make
FPS = 10.0


def frame(faces: list[tuple[int, int]], code: str = "HA") -> np.ndarray:
    """A grey-background BGR frame with a drawn face (120 px) at each (x, y)."""
    image = np.full((SIZE[1], SIZE[0]), 128, np.uint8)
    for i, (x, y) in enumerate(faces):
        image[y : y + 120, x : x + 120] = cv2.resize(draw_face(code, i + 1), (120, 120))
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def write_video(path: Path, frames: list[np.ndarray], fps: float = FPS) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for image in frames:
        writer.write(image)
    writer.release()
    return path


def analyse(path: Path, model: Path, sampling: Sampling = Sampling()) -> list:
    predictor = Predictor.from_checkpoint(model)
    return [e for events in label_video(path, predictor, sampling) for e in events]


def rows_of(events: list) -> list[LabelRow]:
    return [e for e in events if isinstance(e, LabelRow)]


def test_one_face_keeps_one_id_with_frame_and_time(tiny_model, tmp_path) -> None:
    video = write_video(tmp_path / "one.avi", [frame([(100, 60)])] * 20)
    events = analyse(video, tiny_model)
    rows = rows_of(events)
    assert [r.frame for r in rows] == list(range(20)) and {r.face for r in rows} == {1}
    assert [r.time for r in rows] == pytest.approx([i / FPS for i in range(20)])
    assert {r.model for r in rows} == {tiny_model.stem}
    done = [e for e in events if isinstance(e, VideoProgress) and e.done]
    assert [(d.read, d.total, d.analysed, d.faceless) for d in done] == [(20, 20, 20, 0)]


def test_no_face_gives_no_rows_and_counts_the_frames(tiny_model, tmp_path) -> None:
    video = write_video(tmp_path / "none.avi", [frame([])] * 12)
    events = analyse(video, tiny_model)
    assert rows_of(events) == [] and not [e for e in events if isinstance(e, Problem)]
    assert events[-1].done and (events[-1].analysed, events[-1].faceless) == (12, 12)


def test_a_face_that_leaves_and_returns_is_seen_again(tiny_model, tmp_path) -> None:
    """Gone for longer than the tracker's grace, the returning face is a new track. As in
    Live, the detector runs on every third frame and the frames between reuse its boxes: a
    face is seen to leave, and to come back, at the next detection (frames 12 and 21)."""
    frames = [frame([(100, 60)])] * 10 + [frame([])] * 10 + [frame([(100, 60)])] * 10
    rows = rows_of(analyse(write_video(tmp_path / "back.avi", frames), tiny_model))
    seen = sorted({r.frame for r in rows})
    assert seen == [*range(12), *range(21, 30)]
    first, second = {r.face for r in rows if r.frame < 10}, {r.face for r in rows if r.frame >= 20}
    assert len(first) == len(second) == 1 and first != second


def test_two_faces_keep_their_ids(tiny_model, tmp_path) -> None:
    frames = [frame([(20 + i, 60), (180 - i, 60)]) for i in range(15)]
    rows = rows_of(analyse(write_video(tmp_path / "two.avi", frames), tiny_model))
    by_frame: dict[int, dict[int, int]] = {}
    for r in rows:
        by_frame.setdefault(r.frame, {})[r.face] = r.box.x
    assert len(by_frame) == 15 and all(len(faces) == 2 for faces in by_frame.values())
    left = {min(faces, key=faces.get) for faces in by_frame.values()}
    assert len(left) == 1  # the face on the left is the same id in every frame


@pytest.mark.parametrize(
    ("sampling", "frames"),
    [(Sampling(every=5), [0, 5, 10, 15]), (Sampling(fps=2.5), [0, 4, 8, 12, 16])],
)
def test_sampling_picks_every_nth_frame_or_a_rate(tiny_model, tmp_path, sampling, frames) -> None:
    video = write_video(tmp_path / "one.avi", [frame([(100, 60)])] * 20)
    events = analyse(video, tiny_model, sampling)
    assert sorted({r.frame for r in rows_of(events)}) == frames
    assert events[-1].read == 20 and events[-1].analysed == len(frames)


def test_faces_and_labels_are_lives_on_the_same_frames(tiny_model, shared_data) -> None:
    """Detection runs a frame ahead on the reader thread: the rows must still be exactly what
    Live's step gives on each frame, without its smoothing."""
    video = shared_data / "video" / "WolfgangLanger_Pexels.mp4"
    live = LivePipeline(
        make_predictor(load_model(tiny_model), LiveOptions()), FaceTracker(smoothing=0.0)
    )
    expected = []
    with VideoSource(video) as source:
        for index in range(60):
            faces, _ = live.step(source.read())
            expected += [(index, f.id, f.box, f.probabilities) for f in faces if f.missed == 0]
    rows = [r for r in rows_of(analyse(video, tiny_model)) if r.frame < 60]
    assert len(expected) > 30
    assert [(r.frame, r.face, r.box) for r in rows] == [e[:3] for e in expected]
    for row, (*_, probabilities) in zip(rows, expected):
        assert np.allclose(row.result.probabilities, probabilities, atol=1e-6)


def test_label_writes_video_rows_beside_photo_rows(tiny_model, shared_data, tmp_path) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    write_video(folder / "b-clip.avi", [frame([(100, 60)])] * 10)
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    (folder / "a-photo.jpg").write_bytes(photo.read_bytes())
    (folder / "c-photo.jpg").write_bytes(photo.read_bytes())
    out = tmp_path / "rows.csv"
    assert label(folder, tiny_model, out, "--every", "2") == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    names = [Path(r["file"]).name for r in rows]
    assert names == ["a-photo.jpg"] + ["b-clip.avi"] * 5 + ["c-photo.jpg"]  # in walk order
    video = [r for r in rows if r["file"].endswith(".avi")]
    assert [r["frame"] for r in video] == ["0", "2", "4", "6", "8"]
    assert [float(r["time"]) for r in video] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert rows[0]["frame"] == rows[0]["time"] == ""  # a photo has neither


def test_label_json_streams_video_rows(tiny_model, tmp_path, capsys) -> None:
    import json

    video = write_video(tmp_path / "clip.avi", [frame([(100, 60)])] * 6)
    out = tmp_path / "rows.json"
    assert label(video, tiny_model, out) == 0
    records = json.loads(out.read_text())
    assert [r["frame"] for r in records] == list(range(6)) and records[0]["face"] == 1
    assert "1 videos (6 frames)" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary


def _truncated(tmp_path: Path) -> Path:
    whole = write_video(tmp_path / "whole.avi", [frame([(100, 60)])] * 30).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole[: len(whole) // 2])
    return cut


def _no_frame_rate(tmp_path: Path) -> Path:
    """An AVI whose headers give no frame rate (OpenCV then assumes 25 a second)."""
    data = bytearray(write_video(tmp_path / "rate.avi", [frame([(100, 60)])] * 4).read_bytes())
    stream = data.index(b"strh") + 8
    data[stream + 24 : stream + 28] = struct.pack("<I", 0)  # dwRate
    main_header = data.index(b"avih") + 8
    data[main_header : main_header + 4] = struct.pack("<I", 0)  # dwMicroSecPerFrame
    path = tmp_path / "no-rate.avi"
    path.write_bytes(bytes(data))
    return path


BAD_VIDEOS = {
    "corrupt": (lambda tmp: _bytes(tmp / "corrupt.mp4", np.random.bytes(5000)), "cannot open"),
    "not a video": (lambda tmp: _bytes(tmp / "notes.mp4", b"just some text\n" * 50), "open"),
    "empty": (lambda tmp: _bytes(tmp / "empty.mp4", b""), "open"),
    "zero frames": (lambda tmp: write_video_empty(tmp / "zero.avi"), "frame"),
    "truncated": (_truncated, ""),
}


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_video_empty(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    writer.release()
    return path


@pytest.mark.parametrize("kind", list(BAD_VIDEOS))
def test_a_bad_video_is_a_problem_and_the_run_goes_on(tiny_model, tmp_path, kind) -> None:
    make, _ = BAD_VIDEOS[kind]
    bad = make(tmp_path)
    good = write_video(tmp_path / "z-good.avi", [frame([(100, 60)])] * 5)
    predictor = Predictor.from_checkpoint(tiny_model)
    events = [e for batch in label_paths([bad, good], predictor) for e in batch]
    problems = [e for e in events if isinstance(e, Problem)]
    assert [p.file for p in problems] == [bad] and problems[0].reason
    assert "Traceback" not in problems[0].reason
    assert {r.frame for r in rows_of(events) if r.file == good} == set(range(5))


def test_a_video_without_frame_times_is_read_and_refuses_sampling_by_rate(
    tiny_model, tmp_path, monkeypatch
) -> None:
    """Some streams give no frame times and no rate: the rows leave the time empty, and a rate
    cannot be sampled (a Problem says to sample by frames), never a traceback."""
    video = _no_frame_rate(tmp_path)
    assert len(rows_of(analyse(video, tiny_model))) == 4  # OpenCV assumes a rate: read whole
    monkeypatch.setattr(VideoSource, "position", lambda self: None)
    monkeypatch.setattr(VideoSource, "open", _opened_without_rate(VideoSource.open))
    events = analyse(video, tiny_model)
    assert [r.time for r in rows_of(events)] == [0.0, None, None, None]
    events = analyse(video, tiny_model, Sampling(fps=2))
    assert "sample it by frames" in [e for e in events if isinstance(e, Problem)][0].reason


def _opened_without_rate(open_):  # noqa: ANN001, ANN202
    def opened(self) -> None:  # noqa: ANN001
        open_(self)
        self.fps = 0.0

    return opened


def test_8k_frames_are_analysed_in_bounded_memory(tiny_model, tmp_path) -> None:
    black = np.zeros((4320, 7680, 3), np.uint8)
    video = write_video(tmp_path / "8k.avi", [black, black])
    events = analyse(video, tiny_model)
    assert events[-1].done and events[-1].analysed == 2
    assert not [e for e in events if isinstance(e, Problem)]


def test_a_video_removed_while_it_is_read_is_read_to_its_end(tiny_model, tmp_path) -> None:
    video = write_video(tmp_path / "gone.avi", [frame([(100, 60)])] * 20)
    predictor = Predictor.from_checkpoint(tiny_model)
    summary = LabelSummary()
    for events in label_video(video, predictor):
        if video.exists():
            video.unlink()  # the reader holds the file open, as a player would
        summary.add(events)
    assert summary.faces == 20 and (summary.videos, summary.frames) == (1, 20)
