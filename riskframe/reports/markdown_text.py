r"""Text from documents and detectors, made inert in GitHub-flavoured Markdown.

A policy title, a waiver justification or a detector's summary lands in ``report.md``, which CI
posts as a pull-request comment or a job summary. There, Markdown is live: ``[x](javascript:...)``
is a link, ``![](https://tracker.example/pixel.png)`` is fetched when the comment is viewed,
``@someone`` notifies them, ``<img>`` is HTML and a bare ``https://...`` becomes a link. A user's
text is text: :func:`md_text` escapes every character Markdown and HTML give a meaning to, so the
rendered page shows exactly the characters written (and GitHub turns none of them into a link, an
image, a mention or markup).

- control characters are shown as escapes (:func:`riskframe.io.terminal.escape`) and whitespace runs,
  newlines included, become one space: a value never starts a line, a heading or a list item;
- ``&``, ``<`` and ``>`` become HTML entities (no tag, no autolink, no entity trick);
- ASCII punctuation with a Markdown meaning is backslash-escaped (code spans, emphasis, link and
  image brackets, tables, strikethrough, math, headings, and list markers at the start);
- bare URLs and ``www.`` names are broken where the autolinker looks (``https\://``, ``www\.``);
- an ``@`` before a name becomes the entity ``&#64;`` and a zero-width joiner: the joiner is what
  people type on GitHub to name someone without notifying them (no ``@name`` mention forms), the
  entity keeps the parser from reading an e-mail address to link.

Issue references (``#12``) are left as they are: GitHub links them to the repository's own issues.
"""

from __future__ import annotations

import re

from riskframe.io.terminal import escape

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones with a meaning in
# GitHub's Markdown ('&', '<', '>' become entities instead, which also stops HTML and autolinks).
# An underscore between two letters or digits (fail_on, max_poison_fraction) cannot start or end
# emphasis, so it is left as written; any other is escaped.
_PUNCTUATION = re.compile(r"([\\`*\[\]#|~$]|(?<![^\W_])_|_(?![^\W_]))")
# Block markers only mean something at the start of a line, and a value may start one ("- {{ x }}").
_LEADING_MARKER = re.compile(r"^(?:([-+])|(\d{1,9})([.)])(?= |$))")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![a-z0-9])(www)(\.)")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
ZERO_WIDTH_JOINER = "\u200d"
_AT = "&#64;" + ZERO_WIDTH_JOINER


def md_text(value: object) -> str:
    r"""``value`` as inert Markdown prose: one line, shown exactly as written.

    >>> md_text("[click](javascript:alert(1)) for @admin")
    '\\[click\\](javascript:alert(1)) for &#64;\u200dadmin'
    """
    text = escape(" ".join(str(value).split()))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _PUNCTUATION.sub(r"\\\1", text)
    text = _LEADING_MARKER.sub(_leading_marker, text)
    text = _AUTOLINK.sub(_broken_autolink, text)
    return _MENTION.sub(_AT, text)


def md_cell(value: object) -> str:
    """Text for a GitHub table cell: as :func:`md_text` (which escapes ``|`` too)."""
    return md_text(value)


def md_code(value: object) -> str:
    """``value`` as an inline code span (a path, a command): one line, delimited by a run of
    backticks longer than any inside it, so the value can neither end the span nor be read as
    Markdown (GitHub makes no link or mention inside code)."""
    text = escape(" ".join(str(value).split()))
    if not text:
        return ""  # `` is no code span: it would show as two backticks
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _leading_marker(match: re.Match[str]) -> str:
    # "- x" and "+ x" start a list ("* x" is escaped already), "1. x" and "1) x" an ordered one.
    return f"\\{match.group(1)}" if match.group(1) else f"{match.group(2)}\\{match.group(3)}"


def _broken_autolink(match: re.Match[str]) -> str:
    if match.group(1):  # the ':' of 'scheme://'
        return "\\:"
    return f"{match.group(2)}\\."  # 'www.'
