"""Personal profiles: made from a person's crops, saved and read back safely, applied by every
path that classifies, and refused for another model or when damaged."""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.cli import main
from emotion_desktop.core.batch.labelling import label_paths
from emotion_desktop.core.batch.results import LabelRow
from emotion_desktop.core.data.dataset import to_tensor
from emotion_desktop.core.emotions import EMOTIONS, NAMES
from emotion_desktop.core.errors import ProfileError
from emotion_desktop.core.model.calibrate import make_profile
from emotion_desktop.core.model.checkpoints import load_model, save_model
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import (
    Profile,
    model_fingerprint,
    profile_to_dict,
    read_profile,
    write_profile,
)
from emotion_desktop.core.model.profile_library import (
    delete_profile,
    export_profile,
    list_profiles,
    rename_profile,
    save_profile,
)
from emotion_desktop.core.vision.faces import FaceDetector, crop_face, locate_studio_face
from emotion_desktop.core.vision.images import to_gray
from tests.conftest import draw_face

HAPPY, SAD, NEUTRAL = NAMES.index("happy"), NAMES.index("sad"), NAMES.index("neutral")


def crops_of(predictor: Predictor, code: str, person: int, count: int = 4) -> list[np.ndarray]:
    """``count`` crops of a drawn face, framed as training framed the studio photos."""
    detector = FaceDetector(min_face=0.25)
    crops = []
    for shift in range(count):
        gray = draw_face(code, person, angle_shift=shift)
        crops.append(crop_face(gray, locate_studio_face(gray, detector)[0], predictor.crop))
    return crops


@pytest.fixture
def predictor(tiny_model: Path) -> Predictor:
    return Predictor.from_checkpoint(tiny_model)


@pytest.fixture
def other_model(tiny_model: Path, tmp_path: Path) -> Path:
    """Another model of the same network: the tiny one with its outputs shifted."""
    loaded = load_model(tiny_model)
    loaded.model.class_bias += 0.5
    save_model(tmp_path / "other.pt", loaded.model, loaded.crop, loaded.card)
    return tmp_path / "other.pt"


def test_a_profile_moves_a_persons_faces_toward_what_they_showed(predictor) -> None:
    """A person whose smile the model reads as happy, calibrated with that face as "sad", is
    read as sadder afterwards; faces of another expression keep their reading."""
    smiles = np.stack(crops_of(predictor, "HA", 3))
    before = predictor.predict(smiles)
    profile = make_profile(predictor, {"sad": list(smiles[:2])}, "me")
    after = predictor.with_profile(profile).predict(smiles)
    assert profile.emotions == ("sad",) and profile.corrects
    assert profile.method == "layout-gated-affine"
    assert (after[:, SAD] > before[:, SAD]).all()
    assert np.allclose(after.sum(1), 1, atol=1e-5)
    assert predictor.profile is None  # the twin has it; the predictor is unchanged


def test_a_profile_changes_nothing_where_the_model_already_reads_each_expression(predictor):
    """Faces the model reads as what they show give an identity map: on KDEF a map fitted on
    them only reshuffled the model's margins, and left the one person worse off. One misread
    expression among them is enough for a correction."""
    faces = np.stack([c for code in ("HA", "SA", "NE", "SU") for c in crops_of(predictor, code, 2)])
    read = predictor.predict(faces).argmax(1)
    shown = {NAMES[c]: list(faces[read == c]) for c in np.unique(read)}
    assert len(shown) >= 2  # the faces are read as more than one expression
    profile = make_profile(predictor, shown, "already")
    assert not profile.corrects
    assert np.array_equal(profile.arrays["weight"], np.eye(7)) and not profile.arrays["bias"].any()
    assert np.allclose(
        predictor.with_profile(profile).predict(faces), predictor.predict(faces), atol=1e-5
    )
    first, second = list(shown)[:2]
    swapped = {**shown, first: shown[second], second: shown[first]}
    assert make_profile(predictor, swapped, "misread").corrects


def test_a_full_profile_puts_each_calibration_face_in_its_class(predictor) -> None:
    codes = {e.name: e.kdef_code for e in EMOTIONS}
    crops = {name: crops_of(predictor, code, 5, count=2) for name, code in codes.items()}
    profile = make_profile(predictor, crops, "full")
    personal = predictor.with_profile(profile)
    every = np.stack([c for name in NAMES for c in crops[name]])
    truth = np.repeat(np.arange(7), 2)
    general_hits = (predictor.predict(every).argmax(1) == truth).sum()
    assert (personal.predict(every).argmax(1) == truth).sum() >= general_hits
    assert profile.emotions == NAMES


def test_live_and_batch_make_the_same_profile_from_the_same_faces(predictor) -> None:
    """Live classifies without the mirrored average and Batch with it, and both apply one
    profile: one made on Live's plain readings lost Batch 1.4 points on KDEF's held-out people."""
    crops = {"sad": crops_of(predictor, "HA", 3, 2), "happy": crops_of(predictor, "SA", 3, 2)}
    live = predictor.with_detector(predictor.detector, flip=False)
    made_in_live, made_in_batch = (make_profile(p, crops, "me") for p in (live, predictor))
    for key, array in made_in_batch.arrays.items():
        assert np.allclose(made_in_live.arrays[key], array, atol=1e-6), key


def _pulling(predictor: Predictor, faces: dict[str, np.ndarray], toward: str, gate) -> Profile:
    """A profile whose anchors are ``faces``' layouts (one face per expression) and whose map
    pulls every reading hard toward ``toward``."""
    from emotion_desktop.core.model.calibrate import anchors
    from emotion_desktop.core.model.networks import probabilities_and_layout

    shown = [e for e in NAMES if e in faces]
    _, layout = probabilities_and_layout(
        predictor.model, to_tensor(np.stack([faces[e] for e in shown]))
    )
    bias = np.zeros(7)
    bias[NAMES.index(toward)] = 50.0
    arrays = {
        "weight": np.eye(7),
        "bias": bias,
        "anchors": anchors(layout.numpy(), np.arange(len(shown))),
        "gate": np.array(gate),
    }
    return Profile("p", model_fingerprint(predictor.path), "tiny", tuple(shown), arrays)


def test_a_profile_reads_only_faces_laid_out_like_its_own(predictor) -> None:
    """Below the gate's first similarity a face keeps the model's reading (a turned head, unlike
    the straight faces a profile learns from); from its second on, the profile's."""
    own, other = crops_of(predictor, "HA", 1, 1)[0], crops_of(predictor, "SU", 4, 1)[0]
    profile = _pulling(predictor, {"sad": own}, "sad", (0.9999, 0.99999))
    personal = predictor.with_profile(profile)
    assert personal.predict(own[None])[0].argmax() == SAD
    assert np.allclose(personal.predict(other[None]), predictor.predict(other[None]), atol=1e-6)


def test_a_face_most_like_the_persons_own_face_of_the_models_reading_keeps_it(predictor):
    """Where the model reads a face as the expression whose calibration face it most looks
    like, the profile does not overturn it: on KDEF that spared every person a profile had
    made worse with faces read as Live reads them."""
    faces = {code: crops_of(predictor, code, 2, 1)[0] for code in ("HA", "SA", "SU", "AN")}
    read = {code: NAMES[predictor.predict(face[None])[0].argmax()] for code, face in faces.items()}
    kept_code = next(iter(faces))
    other_code = next(c for c in faces if read[c] != read[kept_code])
    shown = {read[kept_code]: faces[kept_code], read[other_code]: faces[other_code]}
    toward = read[other_code]
    profile = _pulling(predictor, shown, toward, (0.0, 0.01))
    personal = predictor.with_profile(profile)
    # the face of the model's own reading keeps it; the other is pulled as the map says
    assert NAMES[personal.predict(faces[kept_code][None])[0].argmax()] == read[kept_code]
    bare = _pulling(predictor, {read[other_code]: faces[other_code]}, toward, (0.0, 0.01))
    assert NAMES[predictor.with_profile(bare).predict(faces[kept_code][None])[0].argmax()] == toward


def test_make_profile_refuses_nothing_and_unknown_expressions(predictor) -> None:
    with pytest.raises(ProfileError, match="nothing to calibrate"):
        make_profile(predictor, {"happy": []}, "empty")
    with pytest.raises(ProfileError, match="'joy' is not one of"):
        make_profile(predictor, {"joy": crops_of(predictor, "HA", 1, 1)}, "x")


def test_a_profile_is_written_and_read_back_whole(predictor, tmp_path) -> None:
    profile = make_profile(predictor, {"neutral": crops_of(predictor, "NE", 2)}, "Ann")
    write_profile(profile, tmp_path / "ann.profile")
    again = read_profile(tmp_path / "ann.profile")
    assert (again.name, again.model, again.emotions) == ("Ann", profile.model, ("neutral",))
    assert again.model == model_fingerprint(predictor.path)
    for key, array in profile.arrays.items():
        assert np.allclose(again.arrays[key], array, rtol=1e-5, atol=1e-9)  # 6 digits kept
        assert not again.arrays[key].flags.writeable
    assert (tmp_path / "ann.profile").stat().st_size < 10_000  # one expression's anchor


def test_a_profile_of_another_model_is_refused_naming_both(predictor, other_model) -> None:
    profile = make_profile(predictor, {"happy": crops_of(predictor, "HA", 1, 2)}, "Bo")
    other = Predictor.from_checkpoint(other_model)
    with pytest.raises(ProfileError, match=r"made with the model tiny, not with other"):
        other.with_profile(profile)
    assert other.with_profile(None).profile is None
    narrow = replace(profile, arrays={**profile.arrays, "anchors": np.ones((1, 8))})
    with pytest.raises(ProfileError, match="does not fit tiny's network"):
        predictor.with_profile(narrow)


@pytest.mark.parametrize("members", [1, 2])
def test_the_layout_comes_with_the_models_own_probabilities(tiny_model, members) -> None:
    """The pass a profile needs gives the probabilities the model gives alone (an ensemble's
    too, with its class bias), and a layout as wide as a profile's anchors must be: the faces'
    own, mirrored or not, since the mirror would turn a head the other way."""
    import torch

    from emotion_desktop.core.model.networks import (
        EnsembleCNN,
        layout_size,
        probabilities_and_layout,
    )

    model = load_model(tiny_model).model
    if members == 2:
        model = EnsembleCNN([model, load_model(tiny_model).model])
        model.members[1].classifier[-1].bias.data += 0.3
        model.class_bias += torch.arange(7) / 10
    x = torch.rand(3, 1, 24, 24) * 255
    layouts = []
    for mirrored in (False, True):
        probabilities, layout = probabilities_and_layout(model, x, mirrored)
        assert torch.allclose(probabilities, model.probabilities(x, mirrored), atol=1e-6)
        assert layout.shape == (3, layout_size(model)) == (3, 512 * members)
        layouts.append(layout)
    assert torch.equal(*layouts)
    assert not torch.allclose(probabilities_and_layout(model, x.flip(3))[1], layouts[0])


def _valid(predictor: Predictor) -> dict:
    return profile_to_dict(make_profile(predictor, {"sad": crops_of(predictor, "SA", 1, 2)}, "v"))


def _with(data: dict, path: tuple, value: object) -> str:
    data = json.loads(json.dumps(data))
    place = data
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    return json.dumps(data)


HOSTILE = {
    "not json": lambda d: "{not json",
    "a list": lambda d: "[1, 2]",
    "deep nesting": lambda d: "[" * 100_000 + "]" * 100_000,
    "another kind": lambda d: _with(d, ("kind",), "emotion_desktop.EmotionCNN"),
    "a later version": lambda d: _with(d, ("format_version",), 99),
    "an unknown method": lambda d: _with(d, ("method",), "pickle"),
    "NaN": lambda d: _with(d, ("arrays", "bias"), [float("nan")] * 7),
    "Infinity": lambda d: _with(d, ("arrays", "bias"), [1e999] * 7),
    "beyond float32": lambda d: _with(d, ("arrays", "bias"), [1e300] * 7),
    "a huge integer": lambda d: _with(d, ("arrays", "bias"), [10**400] * 7),
    "text for numbers": lambda d: _with(d, ("arrays", "bias"), ["1"] * 7),
    "booleans": lambda d: _with(d, ("arrays", "bias"), [True] * 7),
    "the wrong shape": lambda d: _with(d, ("arrays", "weight"), [[1.0] * 7] * 6),
    "a ragged table": lambda d: _with(d, ("arrays", "weight"), [[1.0] * 7] * 6 + [[1.0]]),
    "deeper lists": lambda d: _with(d, ("arrays", "bias"), [[[0.0]]] * 7),
    "a missing array": lambda d: _with(d, ("arrays",), {"weight": d["arrays"]["weight"]}),
    "anchors too wide": lambda d: _with(d, ("arrays", "anchors"), [[0.1] * 10_000]),
    "no anchors": lambda d: _with(d, ("arrays", "anchors"), [[]]),
    "one gate": lambda d: _with(d, ("arrays", "gate"), [0.5]),
    "a falling gate": lambda d: _with(d, ("arrays", "gate"), [0.9, 0.8]),
    "a gate beyond 1": lambda d: _with(d, ("arrays", "gate"), [0.5, 1.5]),
    "an earlier method": lambda d: _with(d, ("method",), "gated-affine"),
    "an unknown expression": lambda d: _with(d, ("emotions",), ["joy"]),
    "no expression": lambda d: _with(d, ("emotions",), []),
    "a number for a name": lambda d: _with(d, ("name",), 5),
    "no model": lambda d: _with(d, ("model",), "tiny"),
    "a huge file": lambda d: json.dumps({**d, "pad": "x" * 2**21}),
}


@pytest.mark.parametrize("damage", HOSTILE, ids=list(HOSTILE))
def test_a_damaged_or_hostile_profile_is_one_clear_error(predictor, tmp_path, damage) -> None:
    path = tmp_path / "bad.profile"
    path.write_text(HOSTILE[damage](_valid(predictor)))
    with pytest.raises(
        ProfileError, match=r"(bad.profile is not|cannot read the profile .*bad.profile)"
    ) as caught:
        read_profile(path)
    assert len(str(caught.value).splitlines()) == 1 and len(str(caught.value)) < 300


def test_a_special_file_or_folder_is_refused_unread(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe.profile")  # opening a pipe for reading would block
    (tmp_path / "folder.profile").mkdir()
    for name in ("pipe.profile", "folder.profile", "missing.profile"):
        with pytest.raises(ProfileError, match="cannot read the profile"):
            read_profile(tmp_path / name)


def test_the_library_lists_renames_exports_and_deletes(predictor, other_model, tmp_path) -> None:
    profile = make_profile(predictor, {"happy": crops_of(predictor, "HA", 1, 2)}, "Cy")
    saved = save_profile(profile, predictor.path)
    assert list_profiles(predictor.path) == [saved] and list_profiles(other_model) == []
    with pytest.raises(ProfileError, match="already exists"):
        save_profile(profile, predictor.path)
    renamed = rename_profile(saved, "Cy at work")
    assert list_profiles(predictor.path) == [renamed] and read_profile(renamed).name == "Cy at work"
    with pytest.raises(ProfileError, match="a profile name is"):
        rename_profile(renamed, "../escape")
    exported = export_profile(renamed, tmp_path / "shared")
    assert exported.name == "shared.profile" and read_profile(exported).name == "Cy at work"
    delete_profile(renamed)
    assert list_profiles(predictor.path) == []


def test_batch_rows_name_the_profile(predictor, shared_data) -> None:
    photo = next((shared_data / "faces" / "happy").glob("*.jpg"))
    profile = make_profile(predictor, {"sad": crops_of(predictor, "SA", 1, 2)}, "Di")
    for personal, name in ((predictor, ""), (predictor.with_profile(profile), "Di")):
        rows = [e for batch in label_paths([photo], personal) for e in batch]
        assert [r.profile for r in rows if isinstance(r, LabelRow)] == [name]


def _labelled_folder(root: Path, shared_data: Path, emotions: tuple[str, ...]) -> Path:
    for emotion in emotions:
        (root / emotion).mkdir(parents=True)
        for photo in sorted((shared_data / "faces" / emotion).glob("*.jpg"))[:2]:
            shutil.copy(photo, root / emotion / photo.name)
    return root


def test_cli_calibrate_then_label_with_the_profile(tiny_model, shared_data, tmp_path, capsys):
    folder = _labelled_folder(tmp_path / "me", shared_data, ("happy", "neutral", "sad"))
    (folder / "sad" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "me.profile"
    args = ["calibrate", str(folder), "--model", str(tiny_model), "--out", str(out)]
    assert main([*args, "--name", "Me"]) == 0
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err and "happy 2, neutral 2, sad 2" in captured.out
    assert read_profile(out).emotions == ("happy", "neutral", "sad")
    assert ("changes no reading" in captured.out) == (not read_profile(out).corrects)
    rows_out = tmp_path / "rows.csv"
    photos = str(folder / "happy")
    label = ["label", photos, "--model", str(tiny_model), "--out", str(rows_out)]
    assert main([*label, "--profile", str(out)]) == 0
    with open(rows_out, newline="") as f:
        assert [r["profile"] for r in csv.DictReader(f)] == ["Me", "Me"]
    assert main([*label, "--overwrite"]) == 0
    with open(rows_out, newline="") as f:
        assert [r["profile"] for r in csv.DictReader(f)] == ["", ""]


def test_cli_refuses_a_profile_of_another_model_or_a_damaged_one(
    tiny_model, other_model, shared_data, tmp_path, capsys
) -> None:
    folder = _labelled_folder(tmp_path / "me", shared_data, ("neutral",))
    out = tmp_path / "me.profile"
    assert main(["calibrate", str(folder), "--model", str(tiny_model), "--out", str(out)]) == 0
    capsys.readouterr()
    rows = tmp_path / "rows.csv"
    label = ["label", str(folder), "--model", str(other_model), "--out", str(rows)]
    assert main([*label, "--profile", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made with the model tiny, not with other" in err
    assert not rows.exists()
    out.write_text('{"kind": "emotion_desktop.Profile"')
    assert main([*label, "--profile", str(out)]) == 2
    assert "is not a profile" in capsys.readouterr().err and not rows.exists()


def test_cli_calibrate_refuses_outputs_that_are_not_profiles(tiny_model, tmp_path, capsys):
    folder = tmp_path / "plain"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), draw_face("HA", 1))
    for out, message in (
        (tmp_path / "x.csv", "ends in .profile"),
        (tmp_path / "x.profile", "not a labelled folder"),
    ):
        args = ["calibrate", str(folder), "--model", str(tiny_model), "--out", str(out)]
        assert main(args) == 2
        assert message in capsys.readouterr().err and not out.exists()


def test_a_profile_made_in_code_is_checked_too() -> None:
    """The same checks guard a Profile built by a caller (the Live flow), not only a file."""
    arrays = {"weight": np.eye(7), "bias": [0], "anchors": np.ones((1, 8)), "gate": [0.5, 0.9]}
    with pytest.raises(ProfileError, match="bias is not 7 numbers"):
        Profile("x", "0" * 64, "m", ("happy",), arrays)
    with pytest.raises(ProfileError, match="anchors is not 2 x layout numbers"):
        Profile("x", "0" * 64, "m", ("happy", "sad"), {**arrays, "bias": np.zeros(7)})


def test_lives_step_and_video_analysis_apply_the_profile(tiny_model, tmp_path) -> None:
    """Live's step and a video's rows go through the profile (and name it), as photos do."""
    from emotion_desktop.core.batch.video import label_video
    from emotion_desktop.core.stream.frames import LiveOptions, LivePipeline, make_predictor
    from tests.core.test_video_analysis import frame, write_video

    live = make_predictor(load_model(tiny_model), LiveOptions())
    profile = make_profile(live, {"sad": crops_of(live, "HA", 1, 2)}, "Ed")
    image = frame([(100, 60)])
    general, _ = LivePipeline(live, detect_every=1).step(image)
    personal, _ = LivePipeline(live.with_profile(profile), detect_every=1).step(image)
    assert len(general) == len(personal) == 1
    assert not np.allclose(personal[0].probabilities, general[0].probabilities, atol=1e-3)
    crop = crop_face(to_gray(image), personal[0].box, live.crop)
    expected = live.with_profile(profile).predict(crop[None])[0]
    assert np.allclose(personal[0].probabilities, expected, atol=1e-5)
    video = write_video(tmp_path / "one.avi", [image] * 3)
    events = label_video(video, Predictor.from_checkpoint(tiny_model).with_profile(profile))
    rows = [e for batch in events for e in batch if isinstance(e, LabelRow)]
    assert len(rows) == 3 and {r.profile for r in rows} == {"Ed"}
