"""``data-schema`` on real csv files: every anomaly located to its column, with counts and examples."""

from __future__ import annotations

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.drift.profile import dumps_profile, profile_table
from riskframe.detectors.drift.schema import DataSchema
from riskframe.spec.pipeline import Artifact, Stage

HEADER = "age,country,amount,label\n"


def _reference_rows(n: int = 400) -> list[str]:
    rng = np.random.default_rng(0)
    return [f"{int(rng.integers(20, 70))},{['FR', 'DE', 'IT'][i % 3]},{rng.uniform(1, 100):.2f},{i % 2}\n"
            for i in range(n)]


@pytest.fixture
def check(tmp_path):
    """``check(rows, header=HEADER, **params)`` runs data-schema on a csv of ``rows`` against the
    profile of 400 reference rows."""
    (tmp_path / "ref.csv").write_text(HEADER + "".join(_reference_rows()))
    reference = Artifact(name="ref", type="dataset", path="ref.csv", labels="label")
    store = ArtifactStore(tmp_path)
    (tmp_path / "ref.json").write_bytes(dumps_profile(profile_table(store.table(reference))))

    def run(rows: list[str], header: str = HEADER, **params):
        (tmp_path / "new.csv").write_text(header + "".join(rows))
        new = Artifact(name="new", type="dataset", path="new.csv", labels="label", profile="ref.json")
        ctx = RunContext(Stage(name="s", kind="monitoring", artifacts=[new]), {"dataset": (new,)},
                         ArtifactStore(tmp_path))
        return DataSchema().run(ctx, DataSchema.Params(**params))

    return run


def test_data_of_the_same_kind_fits(check):
    result = check(_reference_rows(200))

    assert result.status == "pass" and result.evidence["anomalies"] == []
    assert result.summary == ("200 rows fit the reference schema (3 columns: types, domains, ranges, missing values, "
                              "labels)")


def test_a_missing_column_and_an_unexpected_one(check):
    rows = [f"{r.split(',')[0]},{r.split(',')[2]},x,{r.split(',')[3]}" for r in _reference_rows(50)]
    result = check(rows, header="age,amount,extra,label\n")

    kinds = [(a["kind"], a["column"], a["severity"]) for a in result.evidence["anomalies"]]
    assert kinds == [("missing-column", "country", "fail"), ("unexpected-column", "extra", "warn")]
    assert result.status == "fail"
    assert result.summary == ("2 schema anomalies in 50 rows: column 'country' is missing; column 'extra' is not in "
                              "the reference")


def test_text_in_a_number_column_is_a_type_change_with_examples(check):
    rows = _reference_rows(100)
    rows[7] = "unknown,FR,5.00,1\n"
    rows[9] = "n/k,FR,5.00,1\n"
    [anomaly] = check(rows).evidence["anomalies"]

    assert anomaly == {"kind": "type-change", "column": "age", "severity": "fail",
                       "message": "column 'age' (integer) holds text in 2 rows", "rows": 2, "share": 0.02,
                       "examples": {"rows": [7, 9], "values": [{"value": "unknown", "rows": 1},
                                                               {"value": "n/k", "rows": 1}]}}


def test_fractions_in_an_integer_column_are_a_type_change(check):
    rows = _reference_rows(100)
    rows[3] = "31.5,FR,5.00,1\n"
    [anomaly] = check(rows).evidence["anomalies"]

    assert (anomaly["kind"], anomaly["message"], anomaly["examples"]["values"]) == (
        "type-change", "column 'age' (integer) holds fractions in 1 rows", [{"value": 31.5, "rows": 1}])


def test_new_categories_fail_above_the_threshold_and_are_noted_below_it(check):
    rows = _reference_rows(1000)
    rows[5] = rows[5].replace(",FR,", ",ES,").replace(",DE,", ",ES,").replace(",IT,", ",ES,")
    noted = check(rows)
    assert noted.status == "pass" and noted.evidence["anomalies"][0]["severity"] == "info"
    assert noted.summary.endswith("; 1 below the policy's thresholds, in the evidence")

    for i in range(10):
        rows[100 + i] = "30,XX,5.00,0\n"
    [anomaly] = check(rows).evidence["anomalies"]
    assert anomaly["message"] == "column 'country' holds 2 value(s) the reference never had, in 11 rows (1.10%)"
    assert anomaly["examples"]["values"] == [{"value": "XX", "rows": 10}, {"value": "ES", "rows": 1}]


def test_values_outside_the_reference_range(check):
    rows = [*_reference_rows(100), "30,FR,250.00,0\n", "30,FR,-3.00,1\n"]
    [anomaly] = check(rows).evidence["anomalies"]

    assert anomaly["kind"] == "out-of-range" and anomaly["severity"] == "fail"
    assert anomaly["message"].startswith("column 'amount' has 2 value(s) (1.96%) outside the reference range [")
    assert anomaly["examples"]["rows"] == [100, 101]


def test_missing_values_in_a_complete_column(check):
    rows = _reference_rows(1000)
    rows[4] = "30,FR,,1\n"
    warned = check(rows)
    assert warned.status == "warn"
    assert warned.evidence["anomalies"][0]["message"] == ("column 'amount', complete in the reference, is missing "
                                                          "in 1 rows")
    for i in range(30):
        rows[i] = "30,FR,NA,1\n"
    assert check(rows).evidence["anomalies"][0]["message"] == "column 'amount' is missing in 3.0% of rows (reference 0.0%)"


def test_new_and_absent_labels(check):
    rows = [r.rsplit(",", 1)[0] + ",0\n" for r in _reference_rows(100)]
    rows[0] = rows[0].rsplit(",", 1)[0] + ",7\n"
    messages = [a["message"] for a in check(rows).evidence["anomalies"]]

    assert messages == ["1 label(s) the reference never had, in 1 rows",
                        "1 class(es) of the reference are absent though at least 10 rows of each were expected"]
