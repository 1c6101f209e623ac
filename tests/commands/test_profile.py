"""``riskframe profile``: a dataset file in, its profile out, through the real command line."""

from __future__ import annotations

import json

import numpy as np

from riskframe import cli


def test_a_csv_is_profiled(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("age,country,label\n" + "".join(f"{20 + i % 50},{'FR' if i % 3 else 'DE'},{i % 2}\n"
                                                                    for i in range(300)))

    assert cli.main(["profile", str(tmp_path / "t.csv"), "--labels", "label", "--out", str(tmp_path / "p.json")]) == 0

    assert capsys.readouterr().out == (f"Profile of t.csv: 300 rows, 2 columns (1 numeric, 1 categorical, 0 free "
                                       f"text), 2 classes: {(tmp_path / 'p.json').as_posix()}\n")
    profile = json.loads((tmp_path / "p.json").read_text())
    assert [c["name"] for c in profile["columns"]] == ["age", "country"] and profile["labels"]["counts"] == [150, 150]


def test_an_npz_of_images_with_chosen_arrays(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", pixels=np.random.default_rng(0).integers(0, 4, (50, 2, 2)), target=[0, 1] * 25)

    code = cli.main(["profile", str(tmp_path / "d.npz"), "--features", "pixels", "--labels", "target",
                     "--out", str(tmp_path / "out" / "p.json")])

    assert code == 0 and "4 columns (0 numeric, 4 categorical, 0 free text), 2 classes" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "p.json").read_text())["columns"][3]["name"] == "pixels[3]"


def test_an_unreadable_dataset_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")

    assert cli.main(["profile", str(tmp_path / "t.csv"), "--labels", "y", "--out", str(tmp_path / "p.json")]) == 2

    assert capsys.readouterr().err == (f"{tmp_path / 't.csv'}: t.csv has no column 'y' (looked up in its header "
                                       "line, of 2 columns)\n")
    assert not (tmp_path / "p.json").exists()
