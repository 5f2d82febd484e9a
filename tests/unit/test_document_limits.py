"""The bounds on loaded documents: ordinary anchors and nesting load as before; alias bombs, aliases that
contain themselves and deep nesting are refused with the line where they were found."""

from __future__ import annotations

import pytest

from apiway.model.document_limits import MAX_DEPTH, DocumentTooLarge, check_depth
from apiway.model.documents import DocumentError, parse_text


def test_ordinary_anchors_still_load() -> None:
    doc = parse_text("base: &b {type: string, maxLength: 3}\na: *b\nb: [*b, *b]\n", "doc.yaml")
    assert doc["a"] == doc["b"][1] == {"type": "string", "maxLength": 3}


def test_alias_bomb_is_refused_at_its_line() -> None:
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8))
    with pytest.raises(DocumentError, match="aliases expand to too many nodes") as caught:
        parse_text(text, "doc.yaml")
    assert caught.value.line == 4  # a3 brings the total past the allowance


def test_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(DocumentError, match="contains it"):
        parse_text("a: &a [1, *a]\n", "doc.yaml")


# The top-level mapping is one level; scalars are not levels.
@pytest.mark.parametrize("text", ["x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "[" * MAX_DEPTH + "]" * MAX_DEPTH])
def test_nesting_up_to_the_limit_loads(text: str) -> None:
    parse_text(text, "doc")


@pytest.mark.parametrize("text", ["x: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH,
                                  "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "x: " + "[" * 100_000])
def test_nesting_past_the_limit_is_refused(text: str) -> None:
    with pytest.raises(DocumentError, match=r"nested more than 128 levels deep|depth limit exceeded"):
        parse_text(text, "doc")


def test_check_depth_counts_objects_and_lists() -> None:
    check_depth({"a": [{"b": [1]}]}, limit=4)
    with pytest.raises(DocumentTooLarge):
        check_depth({"a": [{"b": [[1]]}]}, limit=4)
