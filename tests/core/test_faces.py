import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.core.errors import ImageError
from emotion_desktop.core.vision.faces import (
    Box,
    CropSettings,
    FaceDetector,
    crop_face,
    locate_studio_face,
    whole_image_box,
)
from emotion_desktop.core.vision.images import is_blank, read_image, to_gray


def test_detector_finds_the_face_in_real_photos(shared_data: Path) -> None:
    detector = FaceDetector()
    photos = sorted((shared_data / "faces").glob("*/*.jpg"))
    found = [len(detector.detect(to_gray(read_image(p)))) for p in photos]
    assert len(photos) == 70
    assert sum(n >= 1 for n in found) >= 66  # the sources' own Haar settings find exactly one


def test_detector_boxes_are_in_full_resolution_coordinates(shared_data: Path) -> None:
    gray = to_gray(read_image(next((shared_data / "faces" / "happy").glob("*.jpg"))))
    big = cv2.resize(gray, None, fx=2, fy=2)
    small_box = FaceDetector().detect(gray)[0]
    big_box = FaceDetector().detect(big)[0]
    assert abs(big_box.w - 2 * small_box.w) <= 0.15 * big_box.w
    assert big_box.x + big_box.w <= big.shape[1]


def test_detector_finds_nothing_in_a_flat_image() -> None:
    assert FaceDetector().detect(np.full((240, 320), 128, np.uint8)) == []


def test_crop_is_square_sized_and_padded_at_borders() -> None:
    gray = np.arange(100 * 80, dtype=np.uint32).reshape(100, 80).astype(np.uint8)
    settings = CropSettings(size=32, margin=0.2, equalize="none")
    face = crop_face(gray, Box(-10, 70, 40, 40), settings)  # sticks out left and bottom
    assert face.shape == (32, 32) and face.dtype == np.uint8


def test_clahe_spreads_a_low_contrast_crop() -> None:
    gray = np.random.default_rng(0).integers(100, 110, (64, 64)).astype(np.uint8)
    flat = crop_face(gray, Box(0, 0, 64, 64), CropSettings(48, 0.0, "none"))
    eq = crop_face(gray, Box(0, 0, 64, 64), CropSettings(48, 0.0, "clahe"))
    assert eq.std() > 2 * flat.std()


def test_studio_face_falls_back_to_a_centre_crop() -> None:
    noise = np.random.default_rng(1).integers(0, 255, (381, 281)).astype(np.uint8)
    box, how = locate_studio_face(noise, FaceDetector(min_face=0.25))
    assert how == "centre"
    assert box.x >= 0 and box.x + box.w <= 281


def test_head_framing_takes_the_head_square_without_the_profile_cascade() -> None:
    """Where the frontal cascade finds nothing, "head" frames every such face alike; only the
    older "profile" framing loads and runs the profile cascade first."""
    noise = np.random.default_rng(1).integers(0, 255, (381, 281)).astype(np.uint8)
    head, profile = FaceDetector(min_face=0.25), FaceDetector(min_face=0.25)
    assert locate_studio_face(noise, head, "head") == locate_studio_face(noise, profile, "profile")
    assert head._profile is None and profile._profile is not None


def test_blank_images_are_recognised() -> None:
    assert is_blank(np.zeros((50, 50), np.uint8))
    assert not is_blank(np.random.default_rng(0).integers(0, 255, (50, 50)).astype(np.uint8))


def test_read_image_errors_say_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a jpeg")
    with pytest.raises(ImageError, match="empty"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageError, match="cannot decode|corrupt"):
        read_image(tmp_path / "text.jpg")
    with pytest.raises(ImageError, match="cannot read"):
        read_image(tmp_path / "missing.jpg")


def test_truncated_jpeg_is_refused_or_decoded_but_never_crashes(tmp_path: Path) -> None:
    ok, data = cv2.imencode(".jpg", np.full((64, 64, 3), 90, np.uint8))
    (tmp_path / "cut.jpg").write_bytes(data.tobytes()[:20])
    with pytest.raises(ImageError):
        read_image(tmp_path / "cut.jpg")


def test_non_ascii_paths_are_read(tmp_path: Path) -> None:
    path = tmp_path / "ansikte-ö.png"
    ok, data = cv2.imencode(".png", np.full((10, 12, 3), 7, np.uint8))
    path.write_bytes(data.tobytes())
    assert read_image(path).shape == (10, 12, 3)


def test_two_threads_cropping_at_once_get_the_single_thread_crops() -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (120, 100), dtype=np.uint8) for _ in range(2)]
    box, settings = Box(10, 10, 80, 80), CropSettings(size=48)
    expected = [crop_face(image, box, settings) for image in images]
    wrong = [0, 0]

    def crop_many(i: int) -> None:
        for _ in range(1500):
            wrong[i] += not np.array_equal(crop_face(images[i], box, settings), expected[i])

    threads = [threading.Thread(target=crop_many, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [0, 0]


@pytest.mark.parametrize("shape", [(1, 700), (700, 1), (30, 2000)])
def test_a_strip_too_thin_for_a_face_has_none(shape: tuple[int, int]) -> None:
    strip = np.full(shape, 120, np.uint8)
    assert FaceDetector().detect(strip) == []
    box, how = locate_studio_face(strip, FaceDetector())
    assert how == "centre" and box.w > 0


def test_a_whole_strip_is_cropped_without_allocating_its_square() -> None:
    """--whole-image on a 1 x 60,000 PNG once padded a 72,000-pixel square (5 GB)."""
    strip = np.tile(np.arange(60_000, dtype=np.uint8), (1, 1))
    started = time.perf_counter()
    face = crop_face(strip, whole_image_box(strip), CropSettings(size=48, equalize="none"))
    assert face.shape == (48, 48) and time.perf_counter() - started < 2
    assert face.std() > 0  # the strip's values are in the middle row, replicated up and down


def test_a_large_padded_crop_matches_the_direct_one() -> None:
    noise = np.random.default_rng(0).integers(0, 255, (3000, 5000), np.uint8)
    gray = cv2.GaussianBlur(noise, (0, 0), 40)
    box = whole_image_box(gray)  # side 6000 with the margin: the shrinking path
    settings = CropSettings(size=48, equalize="none")
    shrunk = crop_face(gray, box, settings).astype(int)
    side = 6000
    padded = cv2.copyMakeBorder(gray, 1500, 1500, 500, 500, cv2.BORDER_REPLICATE)
    direct = cv2.resize(padded[:side, :side], (48, 48), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(shrunk - direct).mean() < 2


def test_a_jpeg_claiming_too_many_pixels_is_refused_from_its_header(tmp_path) -> None:
    ok, data = cv2.imencode(".jpg", np.zeros((16, 16), np.uint8))
    data = bytearray(data.tobytes())
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    data[sof + 5 : sof + 9] = (30_000).to_bytes(2, "big") * 2
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="30000x30000.*downscale it first"):
        read_image(bomb)
