"""Waivers: a time-limited, approved exception to one requirement.

A waiver names a requirement (and optionally a stage and a control), says why (``justification``),
who accepted the risk (``approved_by``) and until when (``expires``). It sits in a policy's
``waivers:`` section or in a separate ``kind: Waivers`` file handed to ``assess --waivers``.

On the assessment's date, an active waiver turns a matching ``fail`` or ``warn`` into ``waived``
(and an ``error`` only with ``include_errors: true``: an unmeasured risk is not accepted by
default); an expired waiver changes nothing and the result says it expired and when. The gate
ignores waived results. Three modules, one job each:

- this one, the schema: the models a policy's ``waivers:`` and a ``kind: Waivers`` file hold, and
  a waiver's status on a date;
- :mod:`riskframe.spec.bound_waivers`: each waiver bound to where it was written, and the checks
  of its references and dates (all located at the waiver's field);
- :mod:`riskframe.engine.waivers`: the decision for one result and the records an assessment
  keeps; :mod:`riskframe.engine.compose` applies them.

>>> from datetime import date
>>> waiver = Waiver(requirement="DP-1", justification="Vendor relabels class 7 this sprint",
...                 approved_by="jane.doe@example.org", expires=date(2030, 1, 31))
>>> waiver_status(waiver, today=date(2030, 2, 1))
'expired'
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from riskframe.spec.common import Document, Name, Spec

WaiverStatus = Literal["active", "expired"]

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
# One word of a person's name: letters, with inner ' . - (O'Neil, Smith-Jones, J.R.R.) and a final dot.
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[.'\u2019-][^\W\d_]+)*\.?$")
# Words that stand for nobody: a waiver must name who accepted the risk.
_PLACEHOLDERS = frozenset({"tbd", "todo", "tba", "unknown", "nobody", "someone", "none", "n/a", "na", "xxx"})
APPROVER_RULE = "must be an email address (jane.doe@example.org) or a person's full name (Jane Doe)"


def check_approver(value: str) -> str:
    """``value`` if it is an email address or a full name (two words or more), else ValueError.

    >>> check_approver("Jane O'Neil-Smith")
    "Jane O'Neil-Smith"
    """
    text = value.strip()
    words = text.split()
    if _EMAIL.match(text) or (len(words) >= 2 and len(text) <= 100 and all(_NAME_WORD.match(w) for w in words)
                              and not any(w.lower().strip(".") in _PLACEHOLDERS for w in words)):
        return text
    raise ValueError(f"{APPROVER_RULE}. Got {value!r} instead.")


def check_approver_entry(value: str) -> str:
    """A policy's ``approvers`` entry: an approver, or ``@domain`` for anyone at that domain."""
    if value.startswith("@") and _EMAIL.match(f"x{value}"):
        return value
    try:
        return check_approver(value)
    except ValueError:
        raise ValueError(f"must be an email address, a person's full name or @domain. Got {value!r} instead.") from None


def nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must say something: an empty or blank text is not a reason")
    return value.strip()


NonBlank = Annotated[str, AfterValidator(nonblank)]
Approver = Annotated[str, AfterValidator(check_approver)]
ApproverEntry = Annotated[str, AfterValidator(check_approver_entry)]


class Waiver(Spec):
    """An approved, time-limited exception to a requirement (in a policy's ``waivers:`` section)."""

    requirement: Name
    stage: Name | None = Field(default=None, description="only at this stage (default: every stage)")
    control: Name | None = Field(default=None, description="only this control of the requirement")
    justification: NonBlank
    approved_by: Approver
    approved_on: date | None = Field(default=None, description="when it was approved (default: today)")
    expires: date = Field(description="the last day it applies")
    include_errors: bool = Field(default=False, description="also waive results that ended in error")


class FileWaiver(Waiver):
    """A waiver in a ``kind: Waivers`` file; ``policy`` narrows it to one policy's requirement."""

    policy: Name | None = None


class WaiverSetMetadata(Spec):
    name: Name | None = None
    owner: str | None = None
    description: str = ""


class WaiverSet(Document):
    """A ``kind: Waivers`` document: waivers kept apart from the policies they waive."""

    kind: Literal["Waivers"]
    metadata: WaiverSetMetadata = Field(default_factory=WaiverSetMetadata)
    waivers: list[FileWaiver] = Field(min_length=1)


def waiver_status(waiver: Waiver, today: date) -> WaiverStatus:
    """``expired`` once ``today`` is past ``expires`` (a waiver applies through its last day)."""
    return "expired" if today > waiver.expires else "active"


def days_left(waiver: Waiver, today: date) -> int:
    return (waiver.expires - today).days
