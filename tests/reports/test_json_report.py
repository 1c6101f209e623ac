"""assessment.json: exact model, stable bytes, and a loader that refuses what it cannot read."""

from __future__ import annotations

import json
import re

import pytest

from riskframe.assessment import SCHEMA_VERSION, Assessment
from riskframe.errors import InputError
from riskframe.reports import json_report, render
from riskframe.reports.json_report import assessment_json_schema, dumps_assessment, load_assessment


def _line_col(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_round_trip_gives_back_an_equal_assessment(assessment, tmp_path) -> None:
    [path] = render(assessment, tmp_path, ["json"])
    assert path.name == "assessment.json"
    assert load_assessment(path) == assessment


def test_the_file_is_the_model_dump_indented_with_a_trailing_newline(assessment) -> None:
    text = dumps_assessment(assessment).decode("utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "schema_version": "1.2",\n  "created_at": ')
    assert json.loads(text) == assessment.model_dump(mode="json")
    assert list(json.loads(text)) == list(Assessment.model_fields)  # declared order, not alphabetical


def test_equal_assessments_give_identical_bytes_whatever_the_evidence_order(assessment) -> None:
    first = assessment.results[0]
    reordered = first.model_copy(
        update={"evidence": dict(reversed(first.evidence.items())), "metrics": dict(reversed(first.metrics.items()))}
    )
    shuffled = assessment.model_copy(update={"results": [reordered, *assessment.results[1:]]})
    assert shuffled == assessment
    assert list(shuffled.results[0].evidence) != list(assessment.results[0].evidence)
    assert dumps_assessment(shuffled) == dumps_assessment(assessment)


def test_rendering_twice_writes_the_same_bytes(assessment, tmp_path) -> None:
    [one] = render(assessment, tmp_path / "a", ["json"])
    [two] = render(assessment, tmp_path / "b", ["json"])
    assert one.read_bytes() == two.read_bytes()


def test_non_finite_evidence_is_written_as_null_so_strict_readers_accept_it(assessment) -> None:
    odd = assessment.results[1].model_copy(update={"evidence": {"ratio": float("nan"), "bound": [float("inf")]}})
    text = dumps_assessment(assessment.model_copy(update={"results": [odd]})).decode()

    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON constant {token}")

    evidence = json.loads(text, parse_constant=refuse)["results"][0]["evidence"]
    assert evidence == {"bound": [None], "ratio": None}


@pytest.mark.parametrize("version", ["1.3", "2.0"])
def test_a_newer_schema_version_is_refused_with_its_position(assessment, tmp_path, version) -> None:
    path = tmp_path / "assessment.json"
    path.write_bytes(
        dumps_assessment(assessment).replace(b'"schema_version": "1.2"', f'"schema_version": "{version}"'.encode())
    )
    expected = (
        f"{path}:2:3: schema_version: this assessment uses schema {version}, newer than the "
        f"{SCHEMA_VERSION} this riskframe reads; upgrade riskframe to read it"
    )
    with pytest.raises(InputError, match=f"^{re.escape(expected)}$"):
        load_assessment(path)


def _as_written_before_1_2(assessment, version: str) -> dict:
    """``assessment`` as a riskframe before schema 1.2 wrote it: no ``model``, no ``prominent``."""
    data = json.loads(dumps_assessment(assessment))
    data["schema_version"] = version
    for result in data["results"]:
        del result["model"]
        for attachment in result["attachments"]:
            del attachment["prominent"]
    data["results"][0]["id"] += "+model"  # a run those riskframes bound to a model named it only in its id
    return data


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_an_older_assessment_is_read_with_the_bound_model_and_the_prominent_picture(assessment, tmp_path,
                                                                                     version) -> None:
    path = tmp_path / "assessment.json"
    path.write_text(json.dumps(_as_written_before_1_2(assessment, version)))

    loaded = load_assessment(path)

    assert [(r.id.rsplit("/", 1)[-1], r.artifact, r.model) for r in loaded.results[:2]] == [
        ("train+model", "train", "model"), ("raw", "raw", None)]
    assert [(a.name, a.prominent) for a in loaded.results[0].attachments] == [
        ("score-histogram.png", False), ("flagged-samples.png", True)]


def test_a_current_assessment_is_taken_as_it_records_itself(assessment, tmp_path) -> None:
    # Schema 1.2 records both facts; a 1.2 file without them is read with the defaults, nothing inferred.
    path = tmp_path / "assessment.json"
    path.write_text(json.dumps(_as_written_before_1_2(assessment, SCHEMA_VERSION)))

    first = load_assessment(path).results[0]

    assert (first.model, [a.prominent for a in first.attachments]) == (None, [False, False])


def test_a_schema_version_that_is_not_a_version_is_refused_with_its_position(assessment, tmp_path) -> None:
    path = tmp_path / "assessment.json"
    path.write_bytes(dumps_assessment(assessment).replace(b'"schema_version": "1.2"', b'"schema_version": 1'))
    expected = f"{path}:2:3: schema_version: must be a version such as '{SCHEMA_VERSION}'. Got 1 instead."
    with pytest.raises(InputError, match=f"^{re.escape(expected)}$"):
        load_assessment(path)


def test_a_valid_file_is_read_without_mapping_its_lines(assessment, tmp_path, monkeypatch) -> None:
    # The line map (a second, slower parse) is built only to locate a problem.
    [path] = render(assessment, tmp_path, ["json"])

    def no_line_map(text: str, shown: str) -> None:
        raise AssertionError("the line map was built for a valid file")

    monkeypatch.setattr(json_report, "_source_map", no_line_map)
    assert load_assessment(path) == assessment


def test_a_json_file_that_is_not_an_assessment_is_refused(tmp_path) -> None:
    path = tmp_path / "results.sarif"
    path.write_text(json.dumps({"version": "2.1.0", "runs": []}))
    expected = (
        f"{path}: not a riskframe assessment: expected a JSON object with schema_version, tool, "
        "results and gate, as 'riskframe assess' writes in assessment.json"
    )
    with pytest.raises(InputError, match=f"^{re.escape(expected)}$"):
        load_assessment(path)


def test_a_json_list_is_not_an_assessment(tmp_path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: not a riskframe assessment: "):
        load_assessment(path)


def test_a_non_json_file_is_refused_at_the_first_bad_character(tmp_path) -> None:
    path = tmp_path / "report.html"
    path.write_text("<!DOCTYPE html>\n<html></html>\n")
    with pytest.raises(
        InputError,
        match=f"^{re.escape(str(path))}:1:1: not valid JSON \\(Expecting value\\); "
        "expected an assessment.json written by 'riskframe assess'$",
    ):
        load_assessment(path)


def test_binary_and_missing_files_are_clear_errors(tmp_path) -> None:
    binary = tmp_path / "model.pt"
    binary.write_bytes(b"\x80\x04\x95\xff\xfe")
    with pytest.raises(
        InputError, match=f"^{re.escape(str(binary))}: not a riskframe assessment: the file is not UTF-8"
    ):
        load_assessment(binary)
    with pytest.raises(InputError, match=f"^{re.escape(str(tmp_path / 'nope.json'))}: file not found$"):
        load_assessment(tmp_path / "nope.json")
    with pytest.raises(InputError, match=r"is a directory; give the assessment\.json inside it$"):
        load_assessment(tmp_path)


def test_a_schema_violation_is_located_at_its_field(assessment, tmp_path) -> None:
    text = dumps_assessment(assessment).decode().replace('"decision": "fail"', '"decision": "maybe"')
    path = tmp_path / "assessment.json"
    path.write_text(text)
    line, column = _line_col(text, '"decision"')
    expected = f"{path}:{line}:{column}: gate.decision: must be one of pass, fail. Got 'maybe' instead."
    with pytest.raises(InputError, match=f"^{re.escape(expected)}$"):
        load_assessment(path)


def test_every_schema_violation_is_reported_at_once(assessment, tmp_path) -> None:
    data = json.loads(dumps_assessment(assessment))
    del data["gate"]
    data["summary"]["risk_score"] = 140
    path = tmp_path / "assessment.json"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(InputError) as caught:
        load_assessment(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["summary.risk_score", "gate"]
    assert lines[0].endswith("summary.risk_score: must be a number in [0, 100]. Got 140 instead.")
    assert lines[1].endswith("gate: required field is missing")


def test_the_json_schema_describes_the_file(assessment) -> None:
    schema = assessment_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "riskframe assessment"
    assert set(schema["required"]) >= {"created_at", "tool", "results", "summary", "gate"}
    assert set(schema["properties"]) == set(json.loads(dumps_assessment(assessment)))
    assert json.loads(json.dumps(schema)) == schema  # plain JSON all the way down


def test_hostile_files_are_refused_without_a_crash_or_a_hang(tmp_path) -> None:
    import os

    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    os.mkfifo(tmp_path / "pipe.json")
    with (tmp_path / "huge.json").open("wb") as handle:
        handle.truncate(json_report.MAX_ASSESSMENT_BYTES + 1)  # sparse: nothing written, nothing read
    expected = {
        "deep.json": "not a riskframe assessment: JSON nested deeper than Python's decoder can follow",
        "pipe.json": "is not a regular file (a FIFO, socket or device)",
        "huge.json": "is larger than the 256 MiB riskframe reads for an assessment",
    }
    for name, message in expected.items():
        with pytest.raises(InputError) as info:
            load_assessment(tmp_path / name)
        assert str(info.value) == f"{tmp_path / name}: {message}"
