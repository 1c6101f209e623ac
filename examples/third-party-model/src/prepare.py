"""The `prepare` stage of dvc.yaml: split the vendor's digits into train and test (stratified 80/20).

    python src/prepare.py      # from examples/third-party-model/, as `dvc repro` runs it

Reads data/raw/digits.npz and writes data/prepared/train.npz and data/prepared/test.npz with fixed
zip timestamps, so the same input always gives the same bytes (and the same DVC digests).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

SEED = 0
TEST_SHARE = 0.2


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like numpy.savez, but with fixed zip timestamps so that equal arrays give equal bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue())


def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        cut = round(TEST_SHARE * members.size)
        test.extend(members[:cut])
        train.extend(members[cut:])
    return np.sort(np.array(train)), np.sort(np.array(test))


def main(root: Path = Path(".")) -> None:
    with np.load(root / "data/raw/digits.npz", allow_pickle=False) as raw:
        images, labels = raw["X"], raw["y"]
    train, test = split(labels)
    write_npz(root / "data/prepared/train.npz", X=images[train], y=labels[train])
    write_npz(root / "data/prepared/test.npz", X=images[test], y=labels[test])


if __name__ == "__main__":
    main()
