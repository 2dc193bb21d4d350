"""Renaming, deleting and exporting a model moves its card and splits with it, keeps the active
model right, and never touches a shipped model."""

from __future__ import annotations

import json
import shutil

import pytest

from emotion_desktop.core import paths
from emotion_desktop.core.errors import ModelFileError
from emotion_desktop.core.model.card import shown_card
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.library import companions, delete_model, export_model, rename_model


def test_the_tiny_model_has_all_three_files(own_model) -> None:
    assert [f.name for f in companions(own_model)] == ["tiny.pt", "tiny.json", "tiny.split.json"]


def test_rename_moves_all_three_files_and_keeps_it_active(own_model) -> None:
    paths.set_active_model(own_model)
    renamed = rename_model(own_model, "my webcam model")
    assert [f.name for f in companions(renamed)] == [
        "my webcam model.pt",
        "my webcam model.json",
        "my webcam model.split.json",
    ]
    assert not companions(own_model)
    assert json.loads(renamed.with_suffix(".json").read_text())["name"] == "my webcam model"
    assert paths.active_model_path() == renamed.resolve()
    assert load_model(renamed).card.name == "my webcam model"


def test_a_relative_or_linked_data_folder_keeps_a_renamed_model_active(
    own_model, tmp_path, monkeypatch
) -> None:
    (tmp_path / "link").symlink_to(paths.data_dir())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMOTION_DESKTOP_DATA_DIR", "link")  # a portable install's setting
    model = paths.models_dir() / own_model.name
    paths.set_active_model(model)
    assert paths.active_model_path() == model
    renamed = rename_model(model, "renamed")
    assert paths.active_model_path() == renamed


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 81, "run.partial"])
def test_rename_refuses_names_that_are_not_plain(own_model, name) -> None:
    with pytest.raises(ModelFileError):
        rename_model(own_model, name)
    assert own_model.is_file()


def test_rename_never_replaces_another_model(own_model) -> None:
    shutil.copyfile(own_model, own_model.with_name("other.pt"))
    with pytest.raises(ModelFileError, match="already exists"):
        rename_model(own_model, "other")
    assert own_model.is_file()


def test_delete_removes_all_three_files_and_falls_back_to_the_default(own_model) -> None:
    paths.set_active_model(own_model)
    delete_model(own_model)
    assert not companions(own_model)
    assert paths.active_model_path() == paths.default_model_path()


def test_shipped_models_cannot_be_renamed_or_deleted() -> None:
    default = paths.default_model_path()
    with pytest.raises(ModelFileError, match="comes with the app"):
        delete_model(default)
    with pytest.raises(ModelFileError, match="comes with the app"):
        rename_model(default, "mine")
    assert default.is_file()


def test_export_copies_a_loadable_model_with_its_card_and_splits(own_model, tmp_path) -> None:
    written = export_model(own_model, tmp_path / "out" / "shared")
    assert [f.name for f in written] == ["shared.pt", "shared.json", "shared.split.json"]
    assert load_model(tmp_path / "out" / "shared.pt").card == load_model(own_model).card


def test_export_says_why_when_the_folder_cannot_be_written(own_model, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelFileError, match="could not export"):
        export_model(own_model, blocker / "m.pt")


def test_every_shipped_cards_test_figures_can_be_shown() -> None:
    """The Result page and model list show each source's test figures: a shipped card read as
    empty (damaged) would show them as "not tested"."""
    for model in paths.shipped_model_paths():
        tests = shown_card(model).tests_by_source()
        assert {"kdef", "ferplus"} <= set(tests), model.name
        for source, figures in tests.items():
            assert len(figures.confusion) == 7 and figures.count > 0, (model.name, source)
