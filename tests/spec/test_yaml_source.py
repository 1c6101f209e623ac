"""The located YAML loader: positions, duplicate keys, bounds, never arbitrary objects."""

from __future__ import annotations

import time

import pytest

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
