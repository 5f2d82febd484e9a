"""JSONPath (`apiway.jsonpath`): an expression and a document, as `$input.path()` / `$input.json()` and response
parameter mappings evaluate them.

Input: `expression NUL document`. The document is parsed as JSON; what does not parse is evaluated as one string
value (as `$input.path` treats a payload that is not JSON).

Invariant: compiling raises nothing but `JsonPathError`; evaluating returns a value (a list for an indefinite
path) or raises nothing but `TimeoutError` (a filter's `=~` regex past its time bound, which `$input` turns into a
template error); evaluation leaves the document unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from apiway.jsonpath import MISSING, JsonPathError, compile_path
from fuzz.common import Finding, sections, text

INSTRUMENT = ("apiway.jsonpath", "apiway.patterns")
OPTIONS = ("-max_len=4096", "-timeout=10", f"-dict={Path(__file__).resolve().parents[1] / 'dicts' / 'jsonpath.dict'}")


def _document(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return text(raw).strip()


def _snapshot(document: Any) -> bytes | None:
    """The document as JSON, to tell it changed; None past orjson's nesting limit (255, below the parser's)."""
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        return None


def one_input(data: bytes) -> None:
    expression_raw, document_raw = sections(data, 2)
    expression = text(expression_raw)
    try:
        compiled = compile_path(expression)
    except JsonPathError:
        return
    document = _document(document_raw)
    before = _snapshot(document)
    try:
        for missing in (None, MISSING):
            result = compiled.evaluate(document, missing)
            if result is not missing and not compiled.definite and not isinstance(result, list):
                raise Finding(f"indefinite path {expression!r} gave {type(result).__name__}, not a list")
        found = compiled.exists(document, document)
    except TimeoutError:
        return
    if not isinstance(found, bool):
        raise Finding(f"exists() gave {found!r}")
    if _snapshot(document) != before:
        raise Finding(f"evaluating {expression!r} changed the document")

