"""Validation messages for a choice: the allowed values come from the model's declared field."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from riskframe.errors import DocumentError
from riskframe.spec.policy import Scope
from riskframe.spec.validation import validate_model
from riskframe.spec.yaml_source import parse_yaml


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Sample(TypedDict):
    sheen: Literal["matt", "gloss"]


class Paint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colour: Colour = Colour.RED
    finish: Annotated[Literal["matt", "gloss"], Field(description="the surface")] | None = None
    status: Literal["pass", "fail"] | Literal["not-assessed"] = "pass"
    by_room: dict[str, Literal["matt", "gloss"]] = Field(default_factory=dict)
    sample: Sample | None = None


class Coat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thickness: Annotated[float, Field(gt=0, le=2)] = 1.0


class Wall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coats: dict[str, Coat] = Field(default_factory=dict)


def _messages(model: type[BaseModel], text: str) -> list[str]:
    document = parse_yaml(text, "doc.yaml")
    with pytest.raises(DocumentError) as info:
        validate_model(model, document.data, document.source)
    return str(info.value).splitlines()


def test_a_literal_inside_a_list_lists_the_field_s_choices_and_the_nearest_one():
    assert _messages(Scope, "kinds: [deployment, monitorng]\n") == [
        "doc.yaml:1:21: kinds[1]: must be one of data-understanding, data-preparation, model-engineering, "
        "model-evaluation, deployment, monitoring. Got 'monitorng' instead (did you mean 'monitoring'?)."]


def test_an_enum_and_an_annotated_optional_literal_list_their_declared_values():
    assert _messages(Paint, "colour: gren\nfinish: glos\n") == [
        "doc.yaml:1:1: colour: must be one of red, green. Got 'gren' instead (did you mean 'green'?).",
        "doc.yaml:2:1: finish: must be one of matt, gloss. Got 'glos' instead (did you mean 'gloss'?)."]


def test_a_union_of_literals_lists_every_value_it_admits():
    assert _messages(Paint, "status: passed\n") == [
        "doc.yaml:1:1: status: must be one of pass, fail, not-assessed. Got 'passed' instead (did you mean 'pass'?)."]


def test_a_mapping_s_value_lists_the_choices_its_values_are_declared_with():
    assert _messages(Paint, "by_room: {hall: satin}\n") == [
        "doc.yaml:1:11: by_room.hall: must be one of matt, gloss. Got 'satin' instead."]


def test_a_choice_the_model_declares_nowhere_it_can_follow_is_said_in_pydantic_s_own_words():
    # A TypedDict's keys are no model fields: its choices are not looked up, nor read out of pydantic's text.
    assert _messages(Paint, "sample: {sheen: satin}\n") == [
        "doc.yaml:1:10: sample.sheen: Input should be 'matt' or 'gloss'. Got 'satin' instead."]


def test_a_model_inside_a_mapping_names_its_fields_and_its_bounds():
    assert _messages(Wall, "coats: {first: {thicknes: 1}, second: {thickness: 3}}\n") == [
        "doc.yaml:1:17: coats.first.thicknes: unknown field (did you mean 'thickness'?). Allowed fields: thickness",
        "doc.yaml:1:40: coats.second.thickness: must be a number in (0, 2]. Got 3 instead."]
