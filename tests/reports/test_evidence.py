"""Evidence as a person reads it: what becomes a fact, a list, a table, and what is cut and said so."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.reports._evidence import (
    JSON_LIST_ITEMS,
    MAX_FLAGGED_ROWS,
    MAX_HISTOGRAM_PANELS,
    MAX_INLINE_ITEMS,
    capped_json,
    histograms_in,
    readable,
)

_HISTOGRAM = {"edges": [0.0, 0.5, 1.0], "flagged": [0, 4], "kept": [100, 2]}


def test_scalars_are_facts_and_multi_line_text_is_preformatted() -> None:
    view = readable(
        {"model": "kNN", "n_samples": 1797, "calibrated": True, "ratio": 0.123456, "traceback": "Traceback:\n  line 1"}
    )
    assert view.facts == [("calibrated", "yes"), ("model", "kNN"), ("n samples", "1797"), ("ratio", "0.1235")]
    [block] = view.blocks
    assert (block.kind, block.label, block.text) == ("pre", "traceback", "Traceback:\n  line 1")


def test_records_become_a_table_with_identifying_columns_first() -> None:
    pairs = [{"share_of_class": 0.0894, "targeted": True, "count": 16, "suggested": 7, "given": 1}]
    [block] = readable({"class_pairs": pairs}).blocks
    assert block.kind == "table" and block.label == "class pairs (given label -> suggested label)"
    assert block.columns == ["given", "suggested", "count", "share_of_class", "targeted"]
    assert block.rows == [["1", "7", "16", "0.0894", "yes"]]


def test_long_lists_are_cut_and_say_how_many_were_left_out() -> None:
    view = readable(
        {"classes": list(range(100)), "rows": [{"i": i} for i in range(25)], "profile": {str(c): c for c in range(30)}}
    )
    blocks = {b.label: b for b in view.blocks}
    assert len(blocks["classes"].items) == MAX_INLINE_ITEMS and blocks["classes"].more == 80
    assert len(blocks["rows"].rows) == 20 and blocks["rows"].more == 5
    assert blocks["profile"].rows[:3] == [["0", "0"], ["1", "1"], ["2", "2"]] and blocks["profile"].more == 10


def test_flagged_samples_pair_indices_with_scores_most_suspicious_first() -> None:
    view = readable({"flagged_indices": [42, 7, 9, *range(100, 120)], "scores": [0.9, 0.8, 0.7] + [0.1] * 20})
    assert view.flagged is not None and view.flagged.count == 23 and not view.flagged.relabelled
    assert view.flagged.rows[:2] == [(1, "42", "0.9", ""), (2, "7", "0.8", "")]
    assert len(view.flagged.rows) == MAX_FLAGGED_ROWS and view.flagged.more == 13
    assert view.blocks == []  # the parallel lists are in the flagged table, not repeated
    mismatched = readable({"flagged_indices": [1, 2], "scores": [0.5]})
    assert mismatched.flagged is not None and mismatched.flagged.rows == [(1, "1", "", ""), (2, "2", "", "")]
    assert [b.label for b in mismatched.blocks] == ["scores"]  # not parallel: shown on its own
    assert readable({"flagged_indices": "all"}).flagged is None


def test_flagged_samples_show_given_and_suggested_labels_when_present() -> None:
    view = readable(
        {"flagged_indices": [5, 8], "scores": [0.99, 0.9], "given_labels": [1, "cat"], "suggested_labels": [7, "dog"]}
    )
    assert view.flagged is not None and view.flagged.relabelled
    assert view.flagged.rows == [(1, "5", "0.99", "1 -> 7"), (2, "8", "0.9", "cat -> dog")]


def test_nested_mappings_become_key_value_tables_with_long_values_cut() -> None:
    [block] = readable(
        {"background": {"p_value": 0.003, "unflagged_indices": list(range(500)), "elevated": True}}
    ).blocks
    assert block.kind == "table" and block.columns == ["key", "value"]
    rows = dict((key, value) for key, value in block.rows)
    assert rows["elevated"] == "yes" and rows["p_value"] == "0.003"
    assert rows["unflagged_indices"].startswith("[0, 1, 2") and rows["unflagged_indices"].endswith(
        "... (all of it in the JSON below)"
    )


def test_the_label_issues_histogram_gives_an_overall_panel_and_one_per_class() -> None:
    value = {
        "bins": [0.0, 0.5, 1.0],
        "flagged": [0, 6],
        "kept": [150, 4],
        "per_class": {
            "7": {"flagged": [0, 1], "kept": [10, 1]},
            "1": {"flagged": [0, 5], "kept": [12, 0]},
            "bad": {"flagged": [1], "kept": [1]},
        },
    }
    panels, left_out = histograms_in(value)
    assert [p.title for p in panels] == ["all samples", "class 1", "class 7"] and left_out == 0
    value["per_class"]["3"] = {"flagged": [0, 0], "kept": [9, 1]}  # nothing flagged: not drawn, counted
    panels, left_out = histograms_in(value)
    assert [p.title for p in panels] == ["all samples", "class 1", "class 7"] and left_out == 1
    assert (panels[1].edges, panels[1].flagged, panels[1].kept) == ([0.0, 0.5, 1.0], [0.0, 5.0], [12.0, 0.0])


def test_a_bare_histogram_or_a_mapping_of_classes_is_understood_too() -> None:
    [panel], left_out = histograms_in(_HISTOGRAM)
    assert (panel.title, panel.edges, panel.flagged, panel.kept, left_out) == (
        "all samples",
        [0.0, 0.5, 1.0],
        [0.0, 4.0],
        [100.0, 2.0],
        0,
    )
    panels, _ = histograms_in({str(c): _HISTOGRAM for c in (10, 2, 1)})
    assert [p.title for p in panels] == ["class 1", "class 2", "class 10"]
    many, left_out = histograms_in({str(c): _HISTOGRAM for c in range(MAX_HISTOGRAM_PANELS + 3)})
    assert len(many) == MAX_HISTOGRAM_PANELS and left_out == 3


def test_malformed_histograms_are_not_drawn() -> None:
    for bad in (
        {"edges": [0, 1], "flagged": [1, 2], "kept": [1, 2]},  # one edge too few
        {"edges": [1, 0, 2], "flagged": [1, 2], "kept": [1, 2]},  # edges not increasing
        {"edges": [0, 1, 2], "flagged": [1, -2], "kept": [1, 2]},  # negative count
        {"edges": [0, 1, 2], "flagged": ["a", 2], "kept": [1, 2]},  # not numbers
        {"edges": [0, float("nan"), 2], "flagged": [1, 2], "kept": [1, 2]},
        {"flagged": [1]},
        [1, 2, 3],
        None,
    ):
        assert histograms_in(bad) == ([], 0), bad


def test_capped_json_cuts_lists_strings_keys_and_depth_and_says_so() -> None:
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(12):
        deep = {"next": deep}
    text = capped_json(
        {
            "ids": list(range(1000)),
            "note": "y" * 5000,
            "map": {str(i): i for i in range(300)},
            "deep": deep,
            "nan": float("nan"),
        }
    )
    data = json.loads(text)
    assert len(data["ids"]) == JSON_LIST_ITEMS + 1 and data["ids"][-1] == "... 950 more items not shown"
    assert data["note"].endswith("... (3,000 more characters)")
    assert data["map"]["..."] == "100 more keys not shown"
    assert "nested too deep to show" in text and data["nan"] == "nan"


def _refuse(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=12),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
            lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6), inner, max_size=6),
            max_leaves=40,
        ),
        max_size=8,
    )
)
def test_any_json_like_evidence_is_readable_without_raising(evidence) -> None:
    view = readable(evidence)
    json.loads(view.json, parse_constant=_refuse)  # valid, strict JSON
    assert all(isinstance(label, str) and isinstance(value, str) for label, value in view.facts)
