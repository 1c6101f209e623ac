"""Windows of production data: a folder of dated files, listed in time order, each a dataset of its own."""

from __future__ import annotations

import os
from datetime import date

import numpy as np
import pytest

from riskframe.data.tables import load_table
from riskframe.data.windows import list_windows
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact


def _windows(**declaration):
    return Artifact(**{"name": "prod", "type": "dataset", "path": "prod", "format": "npz", "windows": True,
                       **declaration})


def test_windows_sort_by_name_and_take_their_dates_from_it(tmp_path):
    (tmp_path / "prod").mkdir()
    for name in ("2024-02-01.npz", "2024-01-15.npz", "2024-03.npz", "batch-7.npz", ".hidden.npz"):
        np.savez(tmp_path / "prod" / name, X=np.ones((3, 2)), y=[0, 1, 0])
    (tmp_path / "prod" / "notes.txt").write_text("not a window\n")

    windows = list_windows(_windows(), tmp_path)

    assert [w.name for w in windows] == ["2024-01-15", "2024-02-01", "2024-03", "batch-7"]
    assert [w.date for w in windows] == [date(2024, 1, 15), date(2024, 2, 1), date(2024, 3, 1), None]
    assert windows[0].artifact.path == "prod/2024-01-15.npz" and not windows[0].artifact.windows
    assert load_table(windows[0].artifact, tmp_path).n_rows == 3


@pytest.mark.parametrize(("setup", "declaration", "message"), [
    (lambda p: (p / "prod").mkdir(), {}, r"^.*/prod holds no \.npz window files$"),
    (lambda p: np.savez(p / "prod", X=np.ones(2)), {"path": "prod.npz"},
     r"^.*/prod\.npz is a file; `windows: true` declares a folder with one file per window$"),
    (lambda p: (p / "prod").mkdir(), {"format": None},
     r"^windows are npz or csv files; declare format: npz or csv \(got 'unknown'\)$"),
    (lambda p: None, {}, r"^file not found: .*/prod$"),
])
def test_unusable_window_folders_are_refused(tmp_path, setup, declaration, message):
    setup(tmp_path)

    with pytest.raises(ArtifactError, match=message):
        list_windows(_windows(**declaration), tmp_path)


def test_a_fifo_named_like_a_window_is_refused_not_opened(tmp_path):
    (tmp_path / "prod").mkdir()
    os.mkfifo(tmp_path / "prod" / "2024-01-01.csv")

    with pytest.raises(ArtifactError, match="is not a regular file"):
        list_windows(_windows(format="csv"), tmp_path)


def test_a_window_folder_must_stay_inside_the_roots(tmp_path):
    with pytest.raises(ArtifactError, match="outside the pipeline's folder"):
        list_windows(_windows(path="../elsewhere"), tmp_path / "pipeline")


def test_profile_and_windows_belong_to_datasets():
    with pytest.raises(ValueError, match="`profile:` and `windows:` describe a dataset; a model artifact has neither"):
        Artifact(name="m", type="model", path="m.pt", windows=True)
