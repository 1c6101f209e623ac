"""The located YAML loader: positions, duplicate keys, bounds, never arbitrary objects."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.errors import DocumentError
from riskframe.spec.yaml_source import format_loc, load_yaml, parse_yaml


def test_positions_of_keys_and_items_are_one_based():
    doc = parse_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert doc.source.locate(("a",)) == (1, 1)
    assert doc.source.locate(("b", 1)) == (4, 5)
    assert doc.source.locate(("b", 1, "c")) == (4, 6)


def test_missing_field_is_located_at_its_nearest_parent():
    doc = parse_yaml("outer:\n  inner: 1\n", "f.yaml")
    assert doc.source.locate(("outer", "missing")) == (1, 1)
    assert doc.source.locate(("outer", "inner", "deeper")) == (2, 3)


def test_duplicate_key_is_an_error_at_the_second_key():
    with pytest.raises(DocumentError) as info:
        parse_yaml("a: 1\nb: 2\na: 3\n", "dup.yaml")
    assert str(info.value) == "dup.yaml:3:1: a: duplicate key (YAML keeps only the last one)"


def test_malformed_yaml_is_located():
    with pytest.raises(DocumentError) as info:
        parse_yaml("a: [1, 2\nb: 3\n", "bad.yaml")
    error = info.value
    assert error.path == "bad.yaml" and error.line >= 2
    assert "invalid YAML" in str(error)


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['echo pwned']\n",
    "a: !!python/name:os.system\n",
    "a: !custom {x: 1}\n",
])
def test_python_and_custom_tags_are_refused_not_constructed(text):
    with pytest.raises(DocumentError) as info:
        parse_yaml(text, "evil.yaml")
    assert str(info.value).startswith("evil.yaml:1:4: ")
    assert "invalid YAML" in str(info.value)


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(DocumentError, match="refused"):
        parse_yaml("\n".join(lines), "bomb.yaml")
    assert time.perf_counter() - started < 5


def test_recursive_alias_is_refused():
    with pytest.raises(DocumentError, match="deeper than 64 levels"):
        parse_yaml("a: &a [*a]\n", "loop.yaml")


def test_small_aliases_and_merge_keys_work():
    doc = parse_yaml("base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\n", "m.yaml")
    assert doc.data["child"] == {"x": 1, "y": 2}


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DocumentError, match="file not found"):
        load_yaml(tmp_path / "nope.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"a: 1\nb: \xff\xfe\x00garbage")
    with pytest.raises(DocumentError) as info:
        load_yaml(binary)
    assert str(info.value) == f"{binary}:2:4: invalid YAML: the file is not UTF-8 text (a byte here is not valid UTF-8)"


def test_format_loc():
    assert format_loc(("requirements", 2, "controls", 0, "with", "threshold")) == \
        "requirements[2].controls[0].with.threshold"
    assert format_loc(()) == ""


# Hostile documents: every one a located DocumentError, whatever the bytes -------------------------

@pytest.mark.parametrize(("text", "where"), [
    ("a: " + "[" * 500 + "]" * 500 + "\n", "hostile.yaml:1:67: a[0]: nested deeper than 64 levels; refused"),
    ("a:\n" + "".join("  " * (i + 1) + "- b:\n" for i in range(500)), "hostile.yaml:33:67: a[0]: nested deeper "
     "than 64 levels; refused"),
    ("a: {b: \x1b[31m}\n", "hostile.yaml:1:8: invalid YAML: character U+001B is not allowed in a YAML file; to mean "
     'it, write the escape "\\x1b" in a double-quoted string'),
    ("a: 1\nb: \x00\n", "hostile.yaml:2:4: invalid YAML: character U+0000 is not allowed in a YAML file; to mean it, "
     'write the escape "\\x00" in a double-quoted string'),
    ("a: 1\r\nb: '\ufffe'\n", "hostile.yaml:2:5: invalid YAML: character U+FFFE is not allowed in a YAML file"),
    ("a: \ud800\n", "hostile.yaml:1:4: invalid YAML: character U+D800 is not allowed in a YAML file"),
    ("a: {b: !!timestamp }\n", "hostile.yaml:1:8: a.b: invalid YAML: this value cannot be read as "
     "tag:yaml.org,2002:timestamp"),
    ("? [1, 2]\n: x\n", "hostile.yaml:1:3: mapping keys must be plain scalars"),
])
def test_hostile_yaml_is_refused_at_its_line_and_column(text, where):
    with pytest.raises(DocumentError) as info:
        parse_yaml(text, "hostile.yaml")
    assert str(info.value) == where


def test_nesting_up_to_the_bound_still_loads():
    doc = parse_yaml("a: " + "[" * 63 + "]" * 63 + "\n", "ok.yaml")
    depth, value = 0, doc.data["a"]
    while value:
        depth, value = depth + 1, value[0]
    assert depth == 62  # 63 lists inside the mapping: 64 levels


def test_a_fifo_is_never_opened_and_a_huge_file_never_read(tmp_path):
    import os

    from riskframe.spec.yaml_source import MAX_DOCUMENT_BYTES

    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(DocumentError, match=r"pipe\.yaml: is not a regular file \(a FIFO, socket or device\)"):
        load_yaml(tmp_path / "pipe.yaml")  # opening it would block this test forever
    with pytest.raises(DocumentError, match=r"folder\.yaml: is a folder; a document is a YAML file"):
        (tmp_path / "folder.yaml").mkdir()
        load_yaml(tmp_path / "folder.yaml")
    with (tmp_path / "huge.yaml").open("wb") as handle:
        handle.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(DocumentError) as info:
        load_yaml(tmp_path / "huge.yaml")
    assert str(info.value) == f"{tmp_path}/huge.yaml: is larger than the 16 MiB riskframe reads for a document"


_PIECES = ["[", "]", "{", "}", ": ", ":", "- ", "-", "\n", "  ", "\t", ",", "? ", "&a ", "*a", "&b ", "*b", "<<: *a",
           "!!python/object/apply:os.system ", "!!binary ", "!!set ", "!!omap ", "!!timestamp ", "!custom ", "'", '"',
           "\\x1b", "\\u0000", "#", "|", ">", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "a", "key",
           "1", "0x1F", "1e999", "-.inf", ".nan", "2025-13-01", "2025-01-01", "null", "~", "yes", "=", "\x00", "\x1b",
           "\x85", "\u2028", "\ufeff", "\ufffe", "\x7f", "\x9b", "\ud800", "\U0001f600", "apiVersion: riskframe/v1\n",
           "kind: Pipeline\n", "kind: Policy\n", "metadata: ", "stages: ", "requirements: ", "waivers: ", "extends: "]


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    """Random YAML-ish text: pieces of syntax, tags, anchors, odd scalars and forbidden characters,
    sometimes wrapped in deep nesting."""
    text = "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=40)))
    depth = draw(st.sampled_from([0, 0, 0, 10, 63, 64, 65, 300, 1500]))
    if depth:
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
        text = (opener * depth + text + closer * depth) if closer else "".join(
            "  " * i + opener + "\n" for i in range(depth)) + text
    return text


@settings(max_examples=200, deadline=None)
@given(text=hostile_yaml())
def test_any_hostile_yaml_parses_or_is_a_located_document_error(text):
    try:
        parse_yaml(text, "h.yaml")
    except DocumentError as exc:
        assert all(p.path == "h.yaml" for p in exc.problems)
        assert str(exc).isprintable() or "\n" in str(exc)  # one problem a line


@settings(max_examples=150, deadline=None)
@given(text=hostile_yaml() | st.text(max_size=200))
def test_any_hostile_file_loads_or_is_a_document_error(tmp_path_factory, text):
    from riskframe.spec import load_document

    path = tmp_path_factory.mktemp("yaml") / "doc.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_document(path)
    except DocumentError as exc:
        assert exc.problems and exc.path == str(path)
