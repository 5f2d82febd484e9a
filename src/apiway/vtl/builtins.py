"""The variables a mapping template sees: `$input` (the payload and request parameters), `$util` (string helpers),
`$context` and `$stageVariables` (see `template_variables`).

Values cross into templates as plain Python (str, int, float, bool, None, dict, list) or as `VtlObject`s.
Two helpers render such values the way API Gateway's Java runtime does: `to_json_text` (what `$input.json()`
returns) and `to_java_string` (what rendering `$input.path()` / `$util.parseJson()` results prints).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import orjson

from apiway.jsonpath import MISSING, CompiledPath, JsonPathError, compile_path
from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.text import JSON_ESCAPES, elem_string, java_double, json_text
from apiway.vtl.protocol import Missing, VtlObject

__all__ = [
    "UTIL",
    "InputVariable",
    "TemplateFunctionError",
    "UtilVariable",
    "base64_decode",
    "base64_encode",
    "escape_javascript",
    "java_double",
    "parse_json",
    "template_variables",
    "to_java_string",
    "to_json_text",
    "url_decode",
    "url_encode",
]


class TemplateFunctionError(TemplateRuntimeError):
    """A `$input`/`$util` call failed; the template fails as a whole (API Gateway answers 500)."""


# --------------------------------------------------------------------------------------------------------------------
# JSON in and out

_LONG_DIGITS = re.compile(r"\d{20}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Invalid JSON value {name}")


def _loads(data: bytes | str) -> Any:
    """Parse JSON. Integers stay int (also beyond 64 bits), numbers with a fraction or exponent become float."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if _LONG_DIGITS.search(text):
        # orjson turns integers wider than 64 bits into floats; the standard parser keeps them exact.
        return json.loads(text, parse_constant=_reject_constant)
    return orjson.loads(data)


_WIDE_ESCAPES = {code: text for code, text in JSON_ESCAPES.items() if code >= 0x7F}
_WIDE_NEEDS_ESCAPE = re.compile("[\x7f-\x9f\u2000-\u20ff]")


def to_json_text(value: Any) -> str:
    """Compact JSON as `$input.json()` prints it: `{"a":1,"b":[true,null]}`, Java number formatting, and the
    escaping of Jayway's default JSON provider (json-smart), which also escapes `/` as `\\/`."""
    if isinstance(value, dict | list) and _orjson_compatible(value):
        # Fast path: orjson's output differs from json-smart's only in the escaping fixed up here. Output with a
        # `\u00XX` escape (lowercase in orjson) takes the slow path.
        try:
            text = orjson.dumps(value).decode()
        except (orjson.JSONEncodeError, TypeError):
            pass
        else:
            if "\\u00" not in text:
                text = text.replace("/", "\\/")
                if _WIDE_NEEDS_ESCAPE.search(text):
                    text = text.translate(_WIDE_ESCAPES)
                return text
    return json_text(value)


def _orjson_compatible(value: Any) -> bool:
    """Plain JSON data whose floats print the same in orjson and Java (plain notation, not -0.0)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            if not 1e-3 <= abs(item) < 1e7 and (item != 0 or math.copysign(1.0, item) < 0):
                return False
        elif kind is not str and kind is not int and kind is not bool and item is not None:
            return False
    return True


# Java's String.valueOf of a value parsed from JSON: maps print `{a=1, b=x}`, arrays print as JSON.
to_java_string = elem_string


# --------------------------------------------------------------------------------------------------------------------
# $util


def escape_javascript(text: str) -> str:
    """Apache Commons Lang 2 StringEscapeUtils.escapeJavaScript: `'` `"` `\\` `/` get a backslash, control
    characters become `\\b \\t \\n \\f \\r` or `\\u00XX`, everything above U+007F becomes `\\uXXXX` (uppercase hex,
    one escape per UTF-16 code unit)."""
    if text.isascii():
        return text.translate(_JS_ESCAPES)
    out = []
    for char in text:
        code = ord(char)
        if code < 0x80:
            out.append(_JS_ESCAPES.get(code, char))
        elif code < 0x10000:
            out.append(f"\\u{code:04X}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
    return "".join(out)


_JS_ESCAPES = {ord("'"): "\\'", ord('"'): '\\"', ord("\\"): "\\\\", ord("/"): "\\/"}
_JS_ESCAPES.update({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"})
for _code in range(0x20):
    _JS_ESCAPES.setdefault(_code, f"\\u{_code:04X}")


def parse_json(text: str) -> Any:
    """`$util.parseJson`: objects become dicts, arrays lists; integers stay int, other numbers float."""
    try:
        return _loads(text)
    except ValueError as exc:
        raise TemplateFunctionError(f"$util.parseJson: invalid JSON: {exc}") from None


def url_encode(text: str) -> str:
    """Java URLEncoder.encode(s, "UTF-8"): letters, digits and `.-*_` stay, space becomes `+`, everything else is
    `%XX` (uppercase) per UTF-8 byte."""
    return quote_plus(text, safe="*", encoding="utf-8", errors="replace").replace("~", "%7E")


_HEX_PAIR = re.compile(r"[0-9A-Fa-f]{2}")


def url_decode(text: str) -> str:
    """Java URLDecoder.decode(s, "UTF-8"): `+` is a space, runs of `%XX` are decoded as UTF-8; a malformed escape
    fails the template like Java's IllegalArgumentException."""
    if "%" not in text:
        return text.replace("+", " ")
    out = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "+":
            out.append(" ")
            i += 1
        elif char == "%":
            run = bytearray()
            while i < n and text[i] == "%":
                pair = text[i + 1 : i + 3]
                if len(pair) < 2:
                    raise TemplateFunctionError("URLDecoder: Incomplete trailing escape (%) pattern")
                if not _HEX_PAIR.fullmatch(pair):
                    raise TemplateFunctionError("URLDecoder: Illegal hex characters in escape (%) pattern")
                run.append(int(pair, 16))
                i += 3
            out.append(run.decode("utf-8", "replace"))
        else:
            out.append(char)
            i += 1
    return "".join(out)


def base64_encode(text: str) -> str:
    """Standard base64 (with padding, no line breaks) of the UTF-8 bytes."""
    return base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


def base64_decode(text: str) -> str:
    """Base64 to a UTF-8 string. Lenient like Commons Codec's decoder: characters outside the alphabet are
    skipped, padding is optional, the URL-safe alphabet is accepted, decoding stops at the first `=`."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        kept = []
        for char in text:
            if char == "=":
                break
            if char in _B64_ALPHABET:
                kept.append(char)
        data = "".join(kept).replace("-", "+").replace("_", "/")
        if len(data) % 4 == 1:
            data = data[:-1]  # a lone trailing character carries no complete byte
        raw = base64.b64decode(data + "=" * (-len(data) % 4))
    return raw.decode("utf-8", "replace")


def _argument(value: Any) -> str:
    return value if isinstance(value, str) else to_java_string(value)


_UTIL_FUNCTIONS: dict[str, Callable[[str], Any]] = {
    "escapeJavaScript": escape_javascript,
    "parseJson": parse_json,
    "urlEncode": url_encode,
    "urlDecode": url_decode,
    "base64Encode": base64_encode,
    "base64Decode": base64_decode,
}


class UtilVariable(VtlObject):
    """`$util`. Stateless; one instance (`UTIL`) serves every template. A null argument gives null back."""

    __slots__ = ()

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        function = _UTIL_FUNCTIONS.get(name)
        if function is None or len(args) != 1:
            raise Missing(name)
        value = args[0]
        if value is None:
            return None
        return function(_argument(value))


UTIL = UtilVariable()


# --------------------------------------------------------------------------------------------------------------------
# $input

_UNPARSED: Any = object()
_NO_BODY: Any = object()
_SECTIONS = ("path", "querystring", "header")


class InputVariable(VtlObject):
    """`$input` for one request or integration response.

    * `$input.body` is the payload as text, `{}` when empty.
    * `$input.json(p)` is the JSON text of the JSONPath result; "" when the path finds nothing. An empty payload
      counts as `{}` (so `$input.json('$')` is `{}`).
    * `$input.path(p)` is the JSONPath result itself; null for an empty payload or when the path finds nothing.
    * A payload that is not JSON counts as one string value (Jayway parses leniently), so `$input.path('$')` is the
      raw text, as form-encoded request templates rely on.
    * `$input.params()` maps `path`, `querystring` and `header` to name→value maps; `$input.params(x)` looks in
      that order and gives "" when absent. Names are case-sensitive.

    The payload is parsed at most once, on first use.
    """

    __slots__ = ("_document", "_params", "_raw", "_text")

    def __init__(self, body: bytes | str | None, params: dict[str, dict[str, str]] | None = None) -> None:
        self._raw = body or b""
        self._text: str | None = None
        self._document: Any = _UNPARSED
        given = params or {}
        self._params = {section: dict(given.get(section) or {}) for section in _SECTIONS}

    @property
    def text(self) -> str:
        """The payload decoded as UTF-8 (invalid bytes become U+FFFD)."""
        text = self._text
        if text is None:
            raw = self._raw
            text = self._text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        return text

    @property
    def body(self) -> str:
        return self.text or "{}"

    def document(self) -> Any:
        """The parsed payload; `_NO_BODY` when empty."""
        document = self._document
        if document is _UNPARSED:
            document = self._document = self._parse()
        return document

    def _parse(self) -> Any:
        raw = self._raw
        if not raw.strip():
            return _NO_BODY
        try:
            return _loads(raw)
        except ValueError:
            return self.text.strip()

    def json(self, expression: Any) -> str:
        compiled = _compiled(expression, "json")
        document = self.document()
        if document is _NO_BODY:
            document = {}
        value = _evaluate(compiled, document, MISSING, "json")
        return "" if value is MISSING else to_json_text(value)

    def path(self, expression: Any) -> Any:
        compiled = _compiled(expression, "path")
        document = self.document()
        if document is _NO_BODY:
            return None
        return _evaluate(compiled, document, None, "path")

    def params(self, name: Any = MISSING) -> Any:
        if name is MISSING:
            return self._params
        for section in _SECTIONS:
            value = self._params[section].get(name)
            if value is not None:
                return value
        return ""

    def vtl_get(self, name: str) -> Any:
        if name == "body":
            return self.body
        raise Missing(name)

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        if name == "json" and len(args) == 1:
            return self.json(args[0])
        if name == "path" and len(args) == 1:
            return self.path(args[0])
        if name == "params" and len(args) <= 1:
            if args and args[0] is not None and not isinstance(args[0], str):
                raise Missing(name)
            return self.params(*args)
        if name == "getBody" and not args:
            return self.body
        raise Missing(name)


def _evaluate(compiled: CompiledPath, document: Any, missing: Any, function: str) -> Any:
    try:
        return compiled.evaluate(document, missing)
    except TimeoutError:  # a filter's `=~` regex over request data ran past its time bound
        raise TemplateFunctionError(f"$input.{function}: a regular expression ran past its time bound") from None


def _compiled(expression: Any, function: str) -> CompiledPath:
    if not isinstance(expression, str):
        if expression is None:
            raise TemplateFunctionError(f"$input.{function}: the JSONPath expression is null")
        raise Missing(function)
    try:
        return compile_path(expression)
    except JsonPathError as exc:
        raise TemplateFunctionError(f"$input.{function}: {exc}") from None


# --------------------------------------------------------------------------------------------------------------------


def template_variables(
    body: bytes,
    params: dict[str, dict[str, str]],
    context: dict[str, Any],
    stage_variables: dict[str, str] | None,
) -> dict[str, Any]:
    """The top-level variables of a mapping template for one request. `context` is passed through unchanged
    (templates write `requestOverride` / `responseOverride` into it)."""
    return {
        "input": InputVariable(body, params),
        "util": UTIL,
        "context": context,
        "stageVariables": stage_variables or {},
    }
