"""Java regular expressions on Python's regex syntax: pattern translation (\\Q…\\E, \\p{…} classes, named groups …),
Matcher's replacement syntax (`$1`, `${name}`), and String.split's rules for empty strings. Every evaluation is
bounded in time (apiway.patterns); one that runs past the bound fails the render."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apiway.patterns import Pattern
from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.conversions import arg_str
from apiway.vtl.java.exceptions import java_error
from apiway.vtl.java.limits import check_len, grow
from apiway.vtl.java.values import StrArray

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "IsAlphabetic": "a-zA-Z",
    "Digit": "0-9",
    "IsDigit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
    "IsWhite_Space": " \\t\\n\\x0B\\f\\r",
    "javaLowerCase": "a-z",
    "javaUpperCase": "A-Z",
    "javaWhitespace": " \\t\\n\\x0B\\f\\r\\x1C-\\x1F",
    "L": "^\\W\\d_",
    "IsL": "^\\W\\d_",
    "IsLetter": "^\\W\\d_",
    "Lu": "A-Z",
    "IsLu": "A-Z",
    "IsUppercase": "A-Z",
    "Ll": "a-z",
    "IsLl": "a-z",
    "IsLowercase": "a-z",
    "N": "0-9",
    "Nd": "0-9",
    "IsN": "0-9",
    "IsNd": "0-9",
}
_H_CLASS = " \\t\\xA0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_REGEX_CACHE: dict[str, Pattern] = {}


def _translate_regex(pattern: str) -> str:
    """Java regex syntax → Python's: \\Q…\\E quoting, POSIX/Unicode \\p{…} classes, named groups, \\z, \\h, \\R."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                quoted = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(quoted))
                i = n if end < 0 else end + 2
                continue
            if nxt in "pP" and i + 2 < n:
                if pattern[i + 2] == "{":
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise java_error("regex.PatternSyntaxException", f"Unclosed character family in {pattern}")
                    name = pattern[i + 3 : end]
                    i = end + 1
                else:
                    name = pattern[i + 2]
                    i += 3
                name = name[2:] if name.startswith("Is") and name[2:] in _POSIX else name
                body = _POSIX.get(name)
                if body is None:
                    raise java_error("regex.PatternSyntaxException", f"Unknown character property name {name}")
                negate = nxt == "P"
                if body.startswith("^"):  # a class defined by exclusion
                    body, negate = body[1:], not negate
                if in_class and not negate:
                    out.append(body)
                else:
                    out.append(("[^" if negate else "[") + body + "]")
                continue
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "Z":
                out.append("(?=\\n?\\Z)")
            elif nxt == "h":
                out.append(_H_CLASS if in_class else "[" + _H_CLASS + "]")
            elif nxt == "H":
                out.append("[^" + _H_CLASS + "]")
            elif nxt == "R":
                out.append("(?:\\r\\n|[\\n\\x0B\\f\\r\\x85\\u2028\\u2029])")
            elif nxt == "e":
                out.append("\\x1b")
            elif nxt == "k" and i + 2 < n and pattern[i + 2] == "<":
                end = pattern.find(">", i + 3)
                if end < 0:
                    raise java_error("regex.PatternSyntaxException", f"named capturing group is missing in {pattern}")
                out.append(f"(?P={pattern[i + 3 : end]})")
                i = end + 1
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is literal
                out.append("\\]")
                i += 1
            continue
        if ch == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def java_regex(pattern: str) -> Pattern:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        try:
            # Java's \d \w \s \b and case folding are ASCII-only unless asked otherwise.
            compiled = Pattern(_translate_regex(pattern), re.ASCII)
        except (re.error, OverflowError, RecursionError) as exc:
            raise java_error("regex.PatternSyntaxException", f"{exc} near index {getattr(exc, 'pos', 0)}") from None
        if len(_REGEX_CACHE) >= 512:
            _REGEX_CACHE.clear()
        _REGEX_CACHE[pattern] = compiled
    return compiled


def _too_slow(pattern: str) -> TemplateRuntimeError:
    return TemplateRuntimeError(f"regular expression {pattern!r} ran past its time bound")


def _replacement(regex: Pattern, replacement: str) -> Callable[[Any], str] | str:
    """Matcher.appendReplacement's syntax: `$n` / `${name}` insert a group, `\\x` is a literal x."""
    if "$" not in replacement and "\\" not in replacement:
        return replacement.replace("\\", "\\\\")
    parts: list[str | int] = []
    i, n = 0, len(replacement)
    groups = regex.groups
    while i < n:
        ch = replacement[i]
        if ch == "\\":
            i += 1
            if i >= n:
                raise java_error("IllegalArgumentException", "character to be escaped is missing")
            parts.append(replacement[i])
            i += 1
        elif ch == "$":
            i += 1
            if i >= n:
                raise java_error("IllegalArgumentException", "Illegal group reference: group index is missing")
            if replacement[i] == "{":
                end = replacement.find("}", i)
                name = replacement[i + 1 : end] if end > 0 else ""
                if end < 0 or not name or name not in regex.groupindex:
                    raise java_error("IllegalArgumentException", f"No group with name {{{name}}}")
                parts.append(regex.groupindex[name])
                i = end + 1
                continue
            if not replacement[i].isdigit() or not replacement[i].isascii():
                raise java_error("IllegalArgumentException", "Illegal group reference")
            number = int(replacement[i])
            i += 1
            while i < n and replacement[i].isascii() and replacement[i].isdigit():
                longer = number * 10 + int(replacement[i])
                if longer > groups:
                    break
                number = longer
                i += 1
            if number > groups:
                raise java_error("IndexOutOfBoundsException", f"No group {number}")
            parts.append(number)
        else:
            parts.append(ch)
            i += 1

    def expand(match: Any) -> str:  # an re or a regex Match
        return "".join(p if type(p) is str else (match.group(p) or "") for p in parts)

    return expand


def java_matches(text: str, pattern: str) -> bool:
    try:
        return java_regex(pattern).fullmatch(text) is not None
    except TimeoutError:
        raise _too_slow(pattern) from None


def replace_regex(text: str, pattern: Any, replacement: Any, count: int) -> str:
    source = arg_str(pattern)
    regex = java_regex(source)
    try:
        return check_len(regex.sub(_replacement(regex, arg_str(replacement)), text, count))
    except TimeoutError:
        raise _too_slow(source) from None


def java_split(text: str, pattern: str, limit: int = 0) -> StrArray:
    """String.split: a zero-width match at the start adds no leading empty string; limit 0 drops trailing ones."""
    regex = java_regex(pattern)
    parts: list[str] = []
    index = 0
    limited = limit > 0
    try:
        for match in regex.finditer(text):
            if not limited or len(parts) < limit - 1:
                if index == 0 and match.start() == 0 and match.end() == 0:
                    continue
                parts.append(text[index : match.start()])
                index = match.end()
            elif len(parts) == limit - 1:
                break
    except TimeoutError:
        raise _too_slow(pattern) from None
    if index == 0 and not parts:
        return StrArray([text])
    parts.append(text[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    grow(parts, 0)
    return StrArray(parts)
