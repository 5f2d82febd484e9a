"""Character-level helpers both parsers share: quoted-string and regex literals, bracket matching that skips
them, and backslash escapes."""

from __future__ import annotations

from apiway.jsonpath.errors import JsonPathError

_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def unescape(text: str) -> str:
    """Backslash escapes in quoted names and string literals (Jayway's Utils.unescape)."""
    if "\\" not in text:
        return text
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 == n:
            out.append(c)
            i += 1
            continue
        e = text[i + 1]
        if e == "u" and i + 6 <= n:
            try:
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            except ValueError:
                pass
        out.append(_SIMPLE_ESCAPES.get(e, e))
        i += 2
    return "".join(out)


def skip_quoted(text: str, i: int) -> int:
    """Index just after the string literal starting at text[i] (a quote)."""
    return _skip_literal(text, i, text[i], "string literal")


def skip_regex(text: str, i: int) -> int:
    """Index just after the closing slash of the regex literal starting at text[i] (a slash)."""
    return _skip_literal(text, i, "/", "regular expression")


def _skip_literal(text: str, i: int, close: str, what: str) -> int:
    """Index just after the `close` character that ends the literal opening at text[i]; a backslash escapes the
    character after it."""
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == close:
            return i + 1
        i += 1
    raise JsonPathError(f"Unterminated {what} in {text!r}")


def closing_bracket(text: str, i: int, opening: str, closing: str, regex: bool) -> int:
    """Index of the bracket closing the one at text[i], skipping string (and regex) literals."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            i = skip_quoted(text, i)
            continue
        if regex and c == "/":
            i = skip_regex(text, i)
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise JsonPathError(f"Unbalanced {opening}{closing} in {text!r}")
