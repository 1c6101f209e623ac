"""Build the own-csv example: the Palmer penguins table as a csv a team would bring, with an id
column, string labels and categorical features, and a second delivery of it in which a share of
the Adelie penguins were relabelled Chinstrap.

    pip install palmerpenguins   # once: the table ships inside that package; nothing is downloaded
    python examples/own-csv/make_example.py [--flips 16] [--seed 0]

Writes, next to this file: ``penguins.csv`` (the 333 complete rows of the published table, each with
a ``penguin_id``) and ``delivery.csv`` (the same rows, ``--flips`` Adelie labels changed to
Chinstrap) and ``ground_truth.json`` (which ids were changed). Both csv files are committed, so the
example runs without this script; it documents where they come from and rebuilds them.

The data: Horst AM, Hill AP, Gorman KB (2020). palmerpenguins: Palmer Archipelago (Antarctica)
penguin data. https://allisonhorst.github.io/palmerpenguins/ (CC0; the package is MIT-licensed).
"""

from __future__ import annotations

import argparse
import csv
import json
from importlib.resources import files
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
COLUMNS = ["penguin_id", "species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
           "body_mass_g", "sex", "year"]


def published_rows() -> list[dict[str, str]]:
    """The rows of palmerpenguins' penguins.csv without a missing value, numbered P-001..."""
    try:
        text = files("palmerpenguins").joinpath("data/penguins.csv").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise SystemExit("this script reads the table from palmerpenguins: pip install palmerpenguins") from None
    rows = [r for r in csv.DictReader(text.splitlines()) if "NA" not in r.values()]
    return [{"penguin_id": f"P-{i:03d}", **r} for i, r in enumerate(rows, start=1)]


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=16, help="Adelie labels changed to Chinstrap in delivery.csv")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = published_rows()
    write(HERE / "penguins.csv", rows)
    adelie = [i for i, r in enumerate(rows) if r["species"] == "Adelie"]
    flipped = sorted(np.random.default_rng(args.seed).choice(adelie, size=args.flips, replace=False).tolist())
    delivered = [{**r, "species": "Chinstrap"} if i in flipped else r for i, r in enumerate(rows)]
    write(HERE / "delivery.csv", delivered)
    truth = {"changed": "Adelie -> Chinstrap", "penguin_ids": [rows[i]["penguin_id"] for i in flipped],
             "csv_lines": [i + 2 for i in flipped]}
    (HERE / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote penguins.csv ({len(rows)} rows) and delivery.csv ({len(flipped)} labels changed)")


if __name__ == "__main__":
    main()
