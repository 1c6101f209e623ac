"""The deny list (``kind: DenyList``): content an organisation forbids in the corpora it assesses.

Known documents (hazardous instructions, copyrighted works, leaked internal text) are matched by
fingerprint, never by showing them: a ``path`` (relative to the deny-list file) or inline ``text``
is fingerprinted when the detector runs, and an entry holding only the ``sha256`` of a document's
normalised text matches exact copies without the document being shared at all. ``patterns`` are
regular expressions (Python syntax), applied to each record's text as written; they are the
organisation's own, so they are trusted not to backtrack without end.

>>> DenyListSpec.model_validate({"apiVersion": "riskframe/v1", "kind": "DenyList",
...     "metadata": {"name": "org"}, "patterns": [{"id": "p1", "regex": "(?i)nerve agent"}]}).patterns[0].id
'p1'
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from riskframe.spec.common import Document, Name, Sha256, Spec


class DenyListMetadata(Spec):
    name: Name
    owner: str | None = None
    description: str = ""


class DeniedDocument(Spec):
    """A document whose copies and passages are forbidden."""

    id: Name
    title: str = ""
    reason: str = ""
    path: str | None = Field(default=None, min_length=1, description="a text file, relative to the deny-list file")
    text: str | None = Field(default=None, min_length=1)
    sha256: Sha256 | None = Field(default=None, description="sha256 of the normalised text: exact copies only")

    @model_validator(mode="after")
    def _one_source(self) -> DeniedDocument:
        if sum(x is not None for x in (self.path, self.text, self.sha256)) != 1:
            raise ValueError("give exactly one of path, text or sha256")
        return self


class DeniedPattern(Spec):
    """A regular expression no record may match."""

    id: Name
    regex: str = Field(min_length=1)
    title: str = ""
    reason: str = ""

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class DenyListSpec(Document):
    """Documents and patterns that must not appear in a corpus."""

    kind: Literal["DenyList"]
    metadata: DenyListMetadata
    documents: list[DeniedDocument] = Field(default_factory=list)
    patterns: list[DeniedPattern] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_and_unique(self) -> DenyListSpec:
        ids = [d.id for d in self.documents] + [p.id for p in self.patterns]
        if not ids:
            raise ValueError("a deny list needs documents or patterns")
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"entry ids must be unique; repeated: {', '.join(repeated)}")
        return self
