from pathlib import Path

import numpy as np

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.vision.faces import FaceDetector, crop_face, locate_studio_face
from tests.conftest import draw_face


def test_predict_returns_a_distribution_per_crop(tiny_model: Path) -> None:
    predictor = Predictor.from_checkpoint(tiny_model)
    probs = predictor.predict(
        np.random.default_rng(0).integers(0, 255, (5, 24, 24)).astype(np.uint8)
    )
    assert probs.shape == (5, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert predictor.predict(np.zeros((0, 24, 24), np.uint8)).shape == (0, 7)


def test_predict_image_finds_the_face_in_a_real_photo(tiny_model: Path, shared_data: Path) -> None:
    photo = next((shared_data / "faces" / "happy").glob("*.jpg"))
    faces = Predictor.from_checkpoint(tiny_model).predict_image(photo)
    assert len(faces) == 1
    assert faces[0].label in NAMES and 0 < faces[0].confidence <= 1
    assert faces[0].box.w > 100  # the photos are tight 350-pixel face crops


def faceless(height: int = 120, width: int = 96) -> np.ndarray:
    """A smooth gradient: nothing for a cascade to find, but an image to classify."""
    return np.tile(np.linspace(60, 200, width, dtype=np.uint8), (height, 1))


def test_whole_image_mode_classifies_a_faceless_crop(tiny_model: Path) -> None:
    predictor = Predictor.from_checkpoint(tiny_model)
    gray = faceless()
    assert predictor.predict_gray(gray) == []
    (face,) = predictor.predict_gray(gray, whole_image=True)
    assert face.box.w == gray.shape[1] and face.box.h == gray.shape[0]


def test_photos_are_framed_as_training_framed_them(tiny_model: Path, tmp_path: Path) -> None:
    """A crop-sized image labelled as the face (whole image) is framed as training framed it,
    with no margin; Batch once padded it with the model's margin (a mean 43 grey levels off)."""
    import cv2

    from emotion_desktop.core.data.dataset import prepare_face
    from emotion_desktop.core.data.sources import FaceRecord

    predictor = Predictor.from_checkpoint(tiny_model)
    for name, gray, whole in (
        ("fer.png", draw_face("HA", 1)[20:68, 10:58], True),
        ("faceless.png", faceless(), True),
    ):
        cv2.imwrite(str(tmp_path / name), gray)
        record = FaceRecord(tmp_path / name, name, 3, "photo")
        trained, how = prepare_face(record, predictor.crop, predictor.detector)
        boxes, crops = predictor.frame(gray, whole_image=whole)
        assert how == "whole" and len(boxes) == 1 and np.array_equal(crops[0], trained)


def test_generated_faces_are_recognised(tiny_model: Path) -> None:
    """Crops prepared as in training (the studio-photo path) get the expression drawn."""
    predictor = Predictor.from_checkpoint(tiny_model)
    detector = FaceDetector(min_face=0.25)
    crops = []
    for code in ("AF", "AN", "DI", "HA", "NE", "SA", "SU"):
        gray = draw_face(code, 2)
        crops.append(crop_face(gray, locate_studio_face(gray, detector)[0], predictor.crop))
    predicted = predictor.predict(np.stack(crops)).argmax(1)
    assert (predicted == np.arange(7)).sum() >= 4  # 1 in 7 by chance


def test_a_tiny_image_is_no_face_unless_labelled_whole(tiny_model: Path, tmp_path: Path) -> None:
    """A crop-sized image got an emotion without the whole-image option, and a 1x1 image one
    with or without it."""
    import cv2

    from emotion_desktop.core.batch.labelling import label_paths
    from emotion_desktop.core.batch.results import Problem

    cv2.imwrite(str(tmp_path / "crop.png"), draw_face("HA", 1)[20:68, 10:58])  # 48x48
    cv2.imwrite(str(tmp_path / "dot.png"), np.full((1, 1), 128, np.uint8))
    predictor = Predictor.from_checkpoint(tiny_model)
    reasons = []
    for whole in (False, True):
        events = [e for batch in label_paths([tmp_path], predictor, whole) for e in batch]
        reasons.append({e.file.name: e.reason for e in events if isinstance(e, Problem)})
    assert "face crop's size" in reasons[0]["crop.png"] and "crop.png" not in reasons[1]
    assert all("too small to hold one" in r["dot.png"] for r in reasons)
