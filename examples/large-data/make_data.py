"""Write the large-data example's datasets: a 1,000,000-row Parquet table and a folder of 10,000 PNG files.

Nothing is downloaded: the table is scikit-learn's ``make_classification`` (6 numeric features, a
text feature, 4 grades as text labels), the pictures are scikit-learn's bundled 8 x 8 digits,
enlarged to 16 x 16, shifted by up to a pixel and given a little noise until there are 10,000.
Both are poisoned the way an attacker with write access to a delivery would do it, and
``data/ground_truth.json`` says which rows and files:

- ``data/transactions.parquet``: 2% of the rows of grade ``C`` relabelled ``B``;
- ``data/scans/<digit>/*.png``: 8% of the 7s filed under ``1/``.

Run from the repository's root (about a minute): ``python examples/large-data/make_data.py``
(``--rows`` and ``--images`` make it smaller or larger).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GRADES = np.array(["A", "B", "C", "D"])


def write_table(rows: int, folder: Path, rng: np.random.Generator) -> list[str]:
    """The transactions table, with 2% of grade C relabelled B; the ids of the relabelled rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.datasets import make_classification

    features, grade = make_classification(n_samples=rows, n_features=6, n_informative=4, n_redundant=1,
                                          n_classes=4, n_clusters_per_class=1, class_sep=1.5, flip_y=0.0,
                                          random_state=0)
    channel = np.where(features[:, 0] + rng.normal(0, 1.0, rows) > 0, "online", "branch")
    chosen = rng.choice(np.flatnonzero(grade == 2), size=round(0.02 * np.sum(grade == 2)), replace=False)
    grade[chosen] = 1
    ids = np.char.add("T-", np.char.zfill(np.arange(rows).astype(str), 7))
    columns = {"txn_id": pa.array(ids), "channel": pa.array(channel).dictionary_encode()}
    columns |= {name: pa.array(features[:, j].astype(np.float32)) for j, name in enumerate(
        ["amount", "balance", "age_days", "velocity", "distance_km", "risk_score"])}
    columns["grade"] = pa.array(GRADES[grade])
    pq.write_table(pa.table(columns), folder / "transactions.parquet", row_group_size=131_072)
    return sorted(ids[chosen].tolist())


def write_images(count: int, folder: Path, rng: np.random.Generator) -> list[str]:
    """The scans, 8% of the 7s filed under 1/; the paths of the misfiled ones."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    picks = np.arange(count) % len(digits.target)
    labels = digits.target[picks].copy()
    sevens = np.flatnonzero(labels == 7)
    misfiled = set(rng.choice(sevens, size=round(0.08 * sevens.size), replace=False).tolist())
    moved = []
    for i, source in enumerate(picks):
        big = np.asarray(Image.fromarray((digits.images[source] * 15).astype(np.uint8)).resize((16, 16),
                                                                                              Image.BILINEAR))
        shifted = np.roll(big, tuple(rng.integers(-1, 2, size=2)), axis=(0, 1)).astype(np.int16)
        pixels = np.clip(shifted + rng.integers(-12, 13, size=shifted.shape), 0, 255).astype(np.uint8)
        label = 1 if i in misfiled else int(labels[i])
        target = folder / "scans" / str(label)
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(target / f"scan-{i:05d}.png")
        if i in misfiled:
            moved.append(f"{label}/scan-{i:05d}.png")
    return sorted(moved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=HERE / "data", help="where to write (default: data/ here)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    truth = {"transactions.parquet: grade C relabelled B (txn_id)": write_table(args.rows, args.out, rng),
             "scans: 7s filed under 1/ (path)": write_images(args.images, args.out, rng)}
    (args.out / "ground_truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(f"wrote {args.out}: transactions.parquet ({args.rows:,} rows), scans/ ({args.images:,} PNG files), "
          "ground_truth.json")


if __name__ == "__main__":
    main()
