"""Markdown escaping: whatever a user wrote renders as exactly that text, parsed by a real
CommonMark/GFM parser (markdown-it-py, with tables, strikethrough and linkify as GitHub has them)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.io.terminal import escape
from riskframe.reports.markdown_text import ZERO_WIDTH_JOINER, md_cell, md_code, md_text

# GitHub's user mentions: '@' then a login, not inside a word or an address.
MENTION = re.compile(r"(?<![\w@/.])@[A-Za-z0-9][A-Za-z0-9-]*")
# Tokens a user's text must never produce.
LIVE = {"link_open", "image", "html_inline", "html_block", "code_inline", "em_open", "strong_open", "s_open",
        "heading_open", "blockquote_open", "hr", "fence", "code_block", "bullet_list_open", "ordered_list_open",
        "table_open"}


@pytest.fixture(scope="module")
def inline_children(github_markdown):
    def children(source: str) -> list:
        """The inline tokens of the last block of ``source``: the list item, the table's body cell."""
        inline = [token for token in github_markdown.parse(source) if token.type == "inline"]
        return list(inline[-1].children or []) if inline else []

    return children


def shown(text: str) -> str:
    """What the page must show for ``text``: the text on one line, control characters as escapes."""
    return escape(" ".join(text.split()))


HOSTILE = [
    "[click](javascript:alert(1))",
    "![pixel](https://tracker.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "@octocat and @org/team",
    "jane.doe@example.org",
    "https://evil.example/x ftp://evil.example www.evil.example",
    "<https://evil.example>",
    "[ref]: https://evil.example\n[x][ref]",
    "`code` *em* _em_ **strong** ~~gone~~ $x^2$",
    "# heading",
    "- item\n- item",
    "1. first",
    "> quoted",
    "---",
    "| a | b |",
    "&lt;b&gt; &#106;avascript:",
    "line\nbreak\\",
    "\x1b[31mred\x1b[0m \u202eevil",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_plain_text_in_a_list_item_and_a_table_cell(text, github_markdown, inline_children):
    for source in (f"- {md_text(text)}\n", f"| h |\n|---|\n| {md_cell(text)} |\n"):
        tokens = github_markdown.parse(source)
        assert not LIVE & {t.type for t in tokens} - {"bullet_list_open", "table_open"}
        children = inline_children(source)
        assert {child.type for child in children} <= {"text"}, source
        rendered = "".join(child.content for child in children)
        assert rendered.replace(ZERO_WIDTH_JOINER, "") == shown(text)
        assert not MENTION.search(rendered)


def test_the_escaped_markdown_reads_as_written():
    assert md_text("DP-1: fail_on high, 10.0% of 7s") == "DP-1: fail_on high, 10.0% of 7s"
    assert md_text("- a") == "\\- a" and md_text("1. a") == "1\\. a" and md_text("-5") == "\\-5"
    assert md_text("see https://x.example and www.x.example") == "see https\\://x.example and www\\.x.example"
    assert md_text("@octocat") == f"&#64;{ZERO_WIDTH_JOINER}octocat"
    assert md_code("a`b") == "``a`b``" and md_code("`x") == "`` `x ``"


# Any text at all: rendered as exactly the text, in prose and in a table cell.
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
       | st.lists(st.sampled_from(["[", "]", "(", ")", "!", "<", ">", "@", "a", "1", ".", ":", "/", "#", "-", "*",
                                   "_", "`", "|", "~", "$", "&", ";", "\\", " ", "\n", "www", "http", "x.io",
                                   "=", "+", ">", "\t", "'", '"', "{", "}"]), max_size=25).map("".join))
def test_any_text_renders_as_itself_and_nothing_else(text, inline_children):
    for source in (f"- {md_text(text)}\n", f"| h |\n|---|\n| {md_cell(text)} |\n"):
        children = inline_children(source)
        assert {child.type for child in children} <= {"text"}, (text, source)
        rendered = "".join(child.content for child in children)
        assert rendered.replace(ZERO_WIDTH_JOINER, "") == shown(text), (text, source)


@given(text=st.text(max_size=40))
def test_a_code_span_holds_any_text(text, inline_children):
    children = inline_children(f"x {md_code(text)} y\n")
    codes = [child for child in children if child.type == "code_inline"]
    assert [code.content.strip() for code in codes] == ([shown(text)] if shown(text) else [])
