"""Java semantics of template values, as Velocity 1.7 and API Gateway's Java objects give them.

Values are plain Python: str (java.lang.String), bool (Boolean), int (Integer/Long/BigInteger), float (Double),
None (null), dict (a LinkedHashMap), list and the subclasses below, and host objects (`VtlObject`). Lists come in
three Java flavours that print differently:

* `list` — a JSON array handed in by a host object (`$input.path`, `$util.parseJson`). API Gateway's JSONPath
  provider makes these json-smart `JSONArray`s, whose toString is compact JSON (`["a","b"]`).
* `JList` — a `java.util.ArrayList` made by the template (`[1, 2]`, `[1..3]`, `keySet()`, `values()` …), which
  prints `[1, 2]`.
* `StrArray` — the `String[]` of `String.split`, which prints as Java's default `[Ljava.lang.String;@…`.

Java methods are dispatched through explicit per-type tables keyed by (name, argument count); nothing else of a
value is ever reached. A method that does not exist, or whose argument types match no Java overload, makes the
reference undefined (`NoMethod`). Where Java would throw (index out of bounds, bad regex, null argument), the
template fails with `TemplateRuntimeError`.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from apiway.vtl.errors import MAX_LOOP, MAX_MACRO_DEPTH, MAX_OUTPUT, TemplateRuntimeError
from apiway.vtl.protocol import Missing, VtlObject

# Beyond these a render fails: they bound the work one request can cause (AWS bounds it with its timeout).
MAX_ITERATIONS = 1_000_000  # #foreach iterations per render, all loops together
MAX_ELEMENTS = 1_000_000  # elements a list or map may grow to
MAX_INT_BITS = 8192  # size of an integer product
MAX_DEPTH = 200  # nesting of a value that is printed or compared


class NoMethod(Exception):
    """No Java method matches: the reference is undefined."""


class StopSignal(Exception):
    """`#stop`: the template ends here; what was rendered so far is the output."""


class BreakSignal(Exception):
    """`#break` outside a loop: leaves the enclosing macro, #define block or template."""


class JList(list):
    """java.util.ArrayList (made by the template)."""

    __slots__ = ()


class StrArray(list):
    """java.lang.String[] (from String.split)."""

    __slots__ = ()


class Entry:
    """A Map.Entry of `entrySet()`; setValue writes through to the map."""

    __slots__ = ("key", "map")

    def __init__(self, mapping: dict, key: Any) -> None:
        self.map = mapping
        self.key = key


class ForeachScope:
    """`$foreach` inside a loop."""

    __slots__ = ("has_next", "index", "parent")

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self.index = -1
        self.has_next = False


class State:
    """Per-render counters shared by every output buffer of one render."""

    __slots__ = ("budget", "depth")

    def __init__(self) -> None:
        self.budget = MAX_ITERATIONS
        self.depth = 0


class Out(list):
    """An output buffer: pieces of text. `limit` is the piece count at which the size is next checked."""

    __slots__ = ("limit", "st")

    def check(self) -> None:
        if sum(map(len, self)) > MAX_OUTPUT:
            raise TemplateRuntimeError(f"template output exceeds {MAX_OUTPUT} characters")
        self.limit = len(self) * 2 + 64


def new_out(st: State) -> Out:
    out = Out()
    out.limit = 64
    out.st = st
    return out


class Block:
    """The value `#define($name)` stores: rendering it renders the block in the context of the moment."""

    __slots__ = ("ctx", "fn", "st")

    def __init__(self, fn: Callable[[dict, Out], None], ctx: dict, st: State) -> None:
        self.fn = fn
        self.ctx = ctx
        self.st = st

    def render(self) -> str:
        st = self.st
        if st.depth >= MAX_MACRO_DEPTH:
            raise TemplateRuntimeError(f"#define block nested more than {MAX_MACRO_DEPTH} deep")
        st.depth += 1
        out = new_out(st)
        try:
            self.fn(self.ctx, out)
        except BreakSignal:
            pass
        finally:
            st.depth -= 1
        return "".join(out)


def check_len(text: str) -> str:
    if len(text) > MAX_OUTPUT:
        raise TemplateRuntimeError(f"string exceeds {MAX_OUTPUT} characters")
    return text


def _grow(collection: Any, extra: int) -> None:
    if len(collection) + extra > MAX_ELEMENTS:
        raise TemplateRuntimeError(f"collection exceeds {MAX_ELEMENTS} elements")


def java_error(name: str, message: str = "") -> TemplateRuntimeError:
    return TemplateRuntimeError(f"java.lang.{name}" + (f": {message}" if message else ""))


# --------------------------------------------------------------------------------------------------------------------
# toString


def java_double(value: float) -> str:
    """Double.toString: plain notation with at least one fraction digit in [1e-3, 1e7), else `d.dddE±n`."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    point = len(digits) + exponent  # the decimal point sits after this many digits
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        if point <= 0:
            text = "0." + "0" * -point + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
    else:
        text = f"{digits[0]}.{digits[1:] or '0'}E{point - 1}"
    return "-" + text if sign else text


def _int_str(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # beyond Python's digit limit for int → str
        raise TemplateRuntimeError("integer too large to print") from None


def to_string(value: Any) -> str:
    """How a value renders: Java's toString, with null (and anything unknown) as the empty string."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    return _str(value, kind, 0)


def elem_string(value: Any, depth: int = 0) -> str:
    """String.valueOf inside a collection or a concatenation: null is `null`."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return value
    return _str(value, kind, depth)


def _str(value: Any, kind: type, depth: int) -> str:
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return _int_str(value)
    if kind is float:
        return java_double(value)
    if depth > MAX_DEPTH:
        raise TemplateRuntimeError("value nested too deeply to print")
    if kind is dict or (kind is not JList and kind is not StrArray and isinstance(value, dict)):
        parts = []
        for key, item in value.items():
            key_text = "(this Map)" if key is value else elem_string(key, depth + 1)
            item_text = "(this Map)" if item is value else elem_string(item, depth + 1)
            parts.append(f"{key_text}={item_text}")
        return "{" + ", ".join(parts) + "}"
    if kind is JList:
        items = ("(this Collection)" if item is value else elem_string(item, depth + 1) for item in value)
        return "[" + ", ".join(items) + "]"
    if kind is StrArray:
        return "[Ljava.lang.String;@" + format(zlib.crc32("\x00".join(map(elem_string, value)).encode()), "x")
    if kind is list or kind is tuple or isinstance(value, list):
        return json_text(value, depth)
    if isinstance(value, VtlObject):
        return value.vtl_str()
    if kind is Block:
        return value.render()
    if kind is Entry:
        return elem_string(value.key, depth + 1) + "=" + elem_string(value.map.get(value.key), depth + 1)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return _int_str(int.__index__(value))
    if isinstance(value, float):
        return java_double(float.__float__(value))
    return ""


def _json_escapes() -> dict[int, str]:
    # json-smart's default string escaping (the JSON text of a JSONArray).
    table = {ord('"'): '\\"', ord("\\"): "\\\\", ord("/"): "\\/", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}
    for code in [*range(0x20), *range(0x7F, 0xA0), *range(0x2000, 0x2100)]:
        table.setdefault(code, f"\\u{code:04X}")
    return table


JSON_ESCAPES = _json_escapes()
_JSON_SPECIAL = re.compile('["\\\\/\x00-\x1f\x7f-\x9f\u2000-\u20ff]')


def _json_string(text: str) -> str:
    if _JSON_SPECIAL.search(text):
        text = text.translate(JSON_ESCAPES)
    return '"' + text + '"'


def json_text(value: Any, depth: int = 0) -> str:
    """json-smart's JSONValue.toJSONString, which is how a JSON array prints (maps inside it included)."""
    if depth > MAX_DEPTH:
        raise TemplateRuntimeError("value nested too deeply to print")
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _json_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return _int_str(value)
    if kind is float:
        return java_double(value) if math.isfinite(value) else "null"
    if isinstance(value, dict):
        items = (f"{_json_string(elem_string(k))}:{json_text(v, depth + 1)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(item, depth + 1) for item in value) + "]"
    return _json_string(_str(value, kind, depth + 1))


# --------------------------------------------------------------------------------------------------------------------
# Equality, comparison, arithmetic (Velocity 1.7's ASTEQNode, ASTLTNode…, ASTMathNode with MathUtils)


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _family(value: Any) -> Any:
    """The Java class family of a value for `==`: values of one family compare with equals()."""
    kind = type(value)
    if kind is JList or kind is list or kind is tuple:
        return list  # JSONArray extends ArrayList
    if kind is StrArray:
        return StrArray
    if kind is dict:
        return dict
    if kind is str or kind is bool or kind is Entry or kind is ForeachScope or kind is Block:
        return kind
    if isinstance(value, VtlObject):
        return VtlObject
    if isinstance(value, dict):
        return dict
    if isinstance(value, list):
        return list
    return kind


def java_equals(a: Any, b: Any, depth: int = 0) -> bool:
    """Object.equals as the Java classes define it (Integer 1 does not equal Double 1.0, nor Boolean true)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    ka, kb = type(a), type(b)
    if ka is str or ka is bool or ka is int or ka is float:
        return ka is kb and a == b
    if depth > MAX_DEPTH:
        raise TemplateRuntimeError("value nested too deeply to compare")
    fa = _family(a)
    if fa is not _family(b):
        return False
    if fa is list or fa is StrArray:
        if fa is StrArray:
            return False  # arrays compare by identity
        return len(a) == len(b) and all(java_equals(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if fa is dict:
        if len(a) != len(b):
            return False
        for key, item in a.items():
            try:
                other = b[key]
            except (KeyError, TypeError):
                return False
            if not java_equals(item, other, depth + 1):
                return False
        return True
    if fa is Entry:
        return java_equals(a.key, b.key, depth + 1) and java_equals(a.map.get(a.key), b.map.get(b.key), depth + 1)
    return False  # host objects, scopes, blocks: identity only


def eq(a: Any, b: Any) -> bool:
    """`==`: numbers by value; same class by equals(); otherwise by their toString; null equals only null."""
    ka = type(a)
    if ka is type(b) and (ka is str or ka is int or ka is bool):
        return a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if _family(a) is _family(b):
        return java_equals(a, b)
    return to_string(a) == to_string(b)


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def lt(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b) and a < b


def le(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b) and a <= b


def gt(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b) and a > b


def ge(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b) and a >= b


def truthy(value: Any) -> bool:
    """#if: null and false are false; everything else (an empty string, 0, an empty list) is true."""
    return value is not None and value is not False


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        raise TemplateRuntimeError("number too large for a double") from None


def add(a: Any, b: Any) -> Any:
    """`+`: concatenation when either side is a String, else arithmetic; null for anything else."""
    ka, kb = type(a), type(b)
    if ka is str or kb is str:
        return check_len(elem_string(a) + elem_string(b))
    if ka is int and kb is int:
        return a + b
    if _is_number(a) and _is_number(b):
        return _to_float(a) + _to_float(b)
    return None


def sub(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a - b
    if _is_number(a) and _is_number(b):
        return _to_float(a) - _to_float(b)
    return None


def mul(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        result = a * b
        if result.bit_length() > MAX_INT_BITS:
            raise TemplateRuntimeError("integer product too large")
        return result
    if _is_number(a) and _is_number(b):
        return _to_float(a) * _to_float(b)
    return None


def div(a: Any, b: Any) -> Any:
    """Integer division truncates toward zero (Java); dividing by zero gives null (Velocity logs it)."""
    if not (_is_number(a) and _is_number(b)) or b == 0:
        return None
    if type(a) is int and type(b) is int:
        quotient = abs(a) // abs(b)
        return -quotient if (a < 0) != (b < 0) else quotient
    return _to_float(a) / _to_float(b)


def mod(a: Any, b: Any) -> Any:
    """The remainder takes the sign of the dividend (Java); modulo zero gives null."""
    if not (_is_number(a) and _is_number(b)) or b == 0:
        return None
    if type(a) is int and type(b) is int:
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    return math.fmod(_to_float(a), _to_float(b))


def _range_end(value: Any) -> int | None:
    """A range end: any number, as its intValue()."""
    kind = type(value)
    if kind is int:
        return _wrap(value, 32)
    if kind is float:
        return _saturate(value, 32)
    return None


def int_range(low: Any, high: Any) -> JList | None:
    """`[n..m]`, ascending or descending; null unless both ends are numbers."""
    start, stop = _range_end(low), _range_end(high)
    if start is None or stop is None:
        return None
    if abs(stop - start) >= MAX_ELEMENTS:
        raise TemplateRuntimeError(f"range [{start}..{stop}] has more than {MAX_ELEMENTS} elements")
    step = 1 if stop >= start else -1
    return JList(range(start, stop + step, step))


def loop_range(low: Any, high: Any) -> range | None:
    """`#foreach($i in [n..m])`: the same numbers without building the list."""
    start, stop = _range_end(low), _range_end(high)
    if start is None or stop is None:
        return None
    step = 1 if stop >= start else -1
    return range(start, stop + step, step)


def iterate(value: Any) -> Any:
    """What #foreach walks: a list's elements (a snapshot), a map's values; nothing for anything else."""
    kind = type(value)
    if kind is list or kind is JList or kind is StrArray:
        return value[:]
    if kind is dict:
        return list(value.values())
    if kind is range:
        return value
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    return None


def hashable_key(key: Any) -> Any:
    """A map key: lists and maps cannot be keys here."""
    if isinstance(key, dict | list):
        raise TemplateRuntimeError("a list or map cannot be a map key")
    return key


# --------------------------------------------------------------------------------------------------------------------
# Argument conversion (Java overload matching)

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _arg_int(value: Any) -> int:
    if type(value) is int and _INT_MIN <= value <= _INT_MAX:
        return value
    raise NoMethod


def _arg_str(value: Any) -> str:
    """A CharSequence/String parameter; null matches too but the call then throws NullPointerException."""
    if type(value) is str:
        return value
    if value is None:
        raise java_error("NullPointerException")
    if isinstance(value, str):
        return str.__str__(value)
    raise NoMethod


def _arg_collection(value: Any) -> list:
    if isinstance(value, list) and type(value) is not StrArray:
        return value
    if value is None:
        raise java_error("NullPointerException")
    raise NoMethod


def _arg_map(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if value is None:
        raise java_error("NullPointerException")
    raise NoMethod


def _saturate(value: float, bits: int) -> int:
    if value != value:
        return 0
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if value <= low:
        return low
    if value >= high:
        return high
    return int(value)


def _wrap(value: int, bits: int) -> int:
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value


# --------------------------------------------------------------------------------------------------------------------
# Java regular expressions

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
_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


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


def java_regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        try:
            # Java's \d \w \s \b and case folding are ASCII-only unless asked otherwise.
            compiled = re.compile(_translate_regex(pattern), re.ASCII)
        except (re.error, OverflowError, RecursionError) as exc:
            raise java_error("regex.PatternSyntaxException", f"{exc} near index {getattr(exc, 'pos', 0)}") from None
        if len(_REGEX_CACHE) >= 512:
            _REGEX_CACHE.clear()
        _REGEX_CACHE[pattern] = compiled
    return compiled


def _replacement(regex: re.Pattern[str], replacement: str) -> Callable[[re.Match[str]], str] | str:
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

    def expand(match: re.Match[str]) -> str:
        return "".join(p if type(p) is str else (match.group(p) or "") for p in parts)

    return expand


def _replace_regex(text: str, pattern: Any, replacement: Any, count: int) -> str:
    regex = java_regex(_arg_str(pattern))
    return check_len(regex.sub(_replacement(regex, _arg_str(replacement)), text, count=count))


def java_split(text: str, pattern: str, limit: int = 0) -> StrArray:
    """String.split: a zero-width match at the start adds no leading empty string; limit 0 drops trailing ones."""
    regex = java_regex(pattern)
    parts: list[str] = []
    index = 0
    limited = limit > 0
    for match in regex.finditer(text):
        if not limited or len(parts) < limit - 1:
            if index == 0 and match.start() == 0 and match.end() == 0:
                continue
            parts.append(text[index : match.start()])
            index = match.end()
        elif len(parts) == limit - 1:
            break
    if index == 0 and not parts:
        return StrArray([text])
    parts.append(text[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    _grow(parts, 0)
    return StrArray(parts)


# --------------------------------------------------------------------------------------------------------------------
# java.lang.String


def _string_hash(text: str) -> int:
    h = 0
    for ch in text:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >> 31 else h


def _compare(a: str, b: str) -> int:
    for x, y in zip(a, b, strict=False):
        if x != y:
            return ord(x) - ord(y)
    return len(a) - len(b)


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _substring(text: str, begin: Any, end: Any = None) -> str:
    begin = _arg_int(begin)
    stop = len(text) if end is None else _arg_int(end)
    if begin < 0 or stop > len(text) or begin > stop:
        raise java_error("StringIndexOutOfBoundsException", f"begin {begin}, end {stop}, length {len(text)}")
    return text[begin:stop]


def _needle(value: Any) -> str | None:
    """indexOf's argument: a String, or an int code point (indexOf(int ch)); None for a code point that no
    string holds."""
    if type(value) is int:
        return chr(value) if 0 <= value <= 0x10FFFF else None
    return _arg_str(value)


def _index_of(text: str, needle: Any, start: Any = 0) -> int:
    sub = _needle(needle)
    begin = min(max(_arg_int(start), 0), len(text))
    return -1 if sub is None else text.find(sub, begin)


def _last_index_of(text: str, needle: Any, start: Any = None) -> int:
    sub = _needle(needle)
    if sub is None:
        return -1
    if start is None:
        return text.rfind(sub)
    begin = _arg_int(start)
    if begin < 0:
        return -1
    return text.rfind(sub, 0, min(begin, len(text)) + len(sub))


def _char_at(text: str, index: Any) -> str:
    index = _arg_int(index)
    if not 0 <= index < len(text):
        raise java_error("StringIndexOutOfBoundsException", f"index {index}, length {len(text)}")
    return text[index]


def _starts_with(text: str, prefix: Any, offset: Any = 0) -> bool:
    prefix = _arg_str(prefix)
    offset = _arg_int(offset)
    if offset < 0 or offset > len(text):
        return False
    return text.startswith(prefix, offset)


def _equals_ignore_case(text: str, other: Any) -> bool:
    if type(other) is not str:
        return False
    return len(text) == len(other) and (text == other or text.upper().lower() == other.upper().lower())


def _replace(text: str, target: Any, replacement: Any) -> str:
    return check_len(text.replace(_arg_str(target), _arg_str(replacement)))


def _matches(text: str, pattern: Any) -> bool:
    return java_regex(_arg_str(pattern)).fullmatch(text) is not None


def _split(text: str, pattern: Any, limit: Any = 0) -> StrArray:
    return java_split(text, _arg_str(pattern), _arg_int(limit))


def _concat(text: str, other: Any) -> str:
    return check_len(text + _arg_str(other))


def _value_of(_text: str, value: Any) -> str:
    return elem_string(value)


STRING_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("length", 0): len,
    ("isEmpty", 0): lambda s: not s,
    ("toString", 0): lambda s: s,
    ("intern", 0): lambda s: s,
    ("trim", 0): _java_trim,
    ("toLowerCase", 0): str.lower,
    ("toUpperCase", 0): str.upper,
    ("hashCode", 0): _string_hash,
    ("substring", 1): _substring,
    ("substring", 2): _substring,
    ("indexOf", 1): _index_of,
    ("indexOf", 2): _index_of,
    ("lastIndexOf", 1): _last_index_of,
    ("lastIndexOf", 2): _last_index_of,
    ("charAt", 1): _char_at,
    ("replace", 2): _replace,
    ("replaceAll", 2): lambda s, p, r: _replace_regex(s, p, r, 0),
    ("replaceFirst", 2): lambda s, p, r: _replace_regex(s, p, r, 1),
    ("split", 1): _split,
    ("split", 2): _split,
    ("matches", 1): _matches,
    ("contains", 1): lambda s, x: _arg_str(x) in s,
    ("equals", 1): lambda s, x: type(x) is str and s == x,
    ("equalsIgnoreCase", 1): _equals_ignore_case,
    ("startsWith", 1): _starts_with,
    ("startsWith", 2): _starts_with,
    ("endsWith", 1): lambda s, x: s.endswith(_arg_str(x)),
    ("concat", 1): _concat,
    ("compareTo", 1): lambda s, x: _compare(s, _arg_str(x)),
    ("compareToIgnoreCase", 1): lambda s, x: _compare(s.upper().lower(), _arg_str(x).upper().lower()),
    ("valueOf", 1): _value_of,
}


# --------------------------------------------------------------------------------------------------------------------
# java.util.List (JSONArray, ArrayList) and String[]


def _list_index(items: list, index: Any, size_extra: int = 0) -> int:
    index = _arg_int(index)
    if not 0 <= index < len(items) + size_extra:
        raise java_error("IndexOutOfBoundsException", f"Index: {index}, Size: {len(items)}")
    return index


def _list_get(items: list, index: Any) -> Any:
    return items[_list_index(items, index)]


def _list_add(items: list, value: Any) -> bool:
    _grow(items, 1)
    items.append(value)
    return True


def _list_insert(items: list, index: Any, value: Any) -> str:
    position = _list_index(items, index, 1)
    _grow(items, 1)
    items.insert(position, value)
    return ""  # void


def _list_add_all(items: list, other: Any) -> bool:
    other = _arg_collection(other)
    _grow(items, len(other))
    items.extend(list(other))
    return bool(other)


def _list_insert_all(items: list, index: Any, other: Any) -> bool:
    position = _list_index(items, index, 1)
    other = _arg_collection(other)
    _grow(items, len(other))
    items[position:position] = list(other)
    return bool(other)


def _list_set(items: list, index: Any, value: Any) -> Any:
    position = _list_index(items, index)
    previous = items[position]
    items[position] = value
    return previous


def _list_remove(items: list, value: Any) -> Any:
    if type(value) is int and _INT_MIN <= value <= _INT_MAX:  # remove(int index)
        return items.pop(_list_index(items, value))
    for position, item in enumerate(items):
        if java_equals(item, value):
            del items[position]
            return True
    return False


def _list_index_of(items: list, value: Any) -> int:
    for position, item in enumerate(items):
        if java_equals(item, value):
            return position
    return -1


def _list_last_index_of(items: list, value: Any) -> int:
    for position in range(len(items) - 1, -1, -1):
        if java_equals(items[position], value):
            return position
    return -1


def _list_contains(items: list, value: Any) -> bool:
    return any(java_equals(item, value) for item in items)


def _list_sub(items: list, begin: Any, end: Any) -> JList:
    begin, end = _arg_int(begin), _arg_int(end)
    if begin < 0 or end > len(items) or begin > end:
        raise java_error("IndexOutOfBoundsException", f"fromIndex {begin}, toIndex {end}, size {len(items)}")
    return JList(items[begin:end])


def _list_clear(items: list) -> str:
    items.clear()
    return ""  # void


LIST_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("size", 0): len,
    ("isEmpty", 0): lambda x: not x,
    ("get", 1): _list_get,
    ("add", 1): _list_add,
    ("add", 2): _list_insert,
    ("addAll", 1): _list_add_all,
    ("addAll", 2): _list_insert_all,
    ("set", 2): _list_set,
    ("remove", 1): _list_remove,
    ("contains", 1): _list_contains,
    ("containsAll", 1): lambda x, other: all(_list_contains(x, item) for item in _arg_collection(other)),
    ("indexOf", 1): _list_index_of,
    ("lastIndexOf", 1): _list_last_index_of,
    ("clear", 0): _list_clear,
    ("subList", 2): _list_sub,
    ("toString", 0): to_string,
    ("equals", 1): java_equals,
}


def _unsupported(*_args: Any) -> Any:
    raise java_error("UnsupportedOperationException")


ARRAY_METHODS = dict(LIST_METHODS)
for _name in ("add", "addAll", "remove", "clear"):
    for _count in range(3):
        if (_name, _count) in ARRAY_METHODS:
            ARRAY_METHODS[(_name, _count)] = _unsupported
ARRAY_METHODS[("equals", 1)] = lambda a, b: a is b


# --------------------------------------------------------------------------------------------------------------------
# java.util.Map


def _map_get(mapping: dict, key: Any) -> Any:
    try:
        return mapping.get(key)
    except TypeError:  # an unhashable key is never present
        return None


def _map_put(mapping: dict, key: Any, value: Any) -> Any:
    key = hashable_key(key)
    previous = mapping.get(key)
    if key not in mapping:
        _grow(mapping, 1)
    mapping[key] = value
    return previous


def _map_put_if_absent(mapping: dict, key: Any, value: Any) -> Any:
    key = hashable_key(key)
    previous = mapping.get(key)
    if previous is None:
        _map_put(mapping, key, value)
    return previous


def _map_remove(mapping: dict, key: Any) -> Any:
    try:
        return mapping.pop(key, None)
    except TypeError:
        return None


def _map_put_all(mapping: dict, other: Any) -> str:
    other = _arg_map(other)
    _grow(mapping, len(other))
    mapping.update(other)
    return ""  # void


def _map_contains_key(mapping: dict, key: Any) -> bool:
    try:
        return key in mapping
    except TypeError:
        return False


def _map_get_or_default(mapping: dict, key: Any, default: Any) -> Any:
    try:
        return mapping.get(key, default)
    except TypeError:
        return default


def _map_clear(mapping: dict) -> str:
    mapping.clear()
    return ""  # void


MAP_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("get", 1): _map_get,
    ("put", 2): _map_put,
    ("putIfAbsent", 2): _map_put_if_absent,
    ("putAll", 1): _map_put_all,
    ("remove", 1): _map_remove,
    ("containsKey", 1): _map_contains_key,
    ("containsValue", 1): lambda m, v: any(java_equals(item, v) for item in m.values()),
    ("getOrDefault", 2): _map_get_or_default,
    ("keySet", 0): lambda m: JList(m.keys()),
    ("values", 0): lambda m: JList(m.values()),
    ("entrySet", 0): lambda m: JList(Entry(m, key) for key in m),
    ("size", 0): len,
    ("isEmpty", 0): lambda m: not m,
    ("clear", 0): _map_clear,
    ("toString", 0): to_string,
    ("equals", 1): java_equals,
}


def _entry_set_value(entry: Entry, value: Any) -> Any:
    previous = entry.map.get(entry.key)
    entry.map[entry.key] = value
    return previous


ENTRY_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("getKey", 0): lambda e: e.key,
    ("getValue", 0): lambda e: e.map.get(e.key),
    ("setValue", 1): _entry_set_value,
    ("toString", 0): to_string,
    ("equals", 1): java_equals,
}


# --------------------------------------------------------------------------------------------------------------------
# Numbers, Boolean, $foreach, #define blocks


def _compare_numbers(a: Any, b: Any) -> int:
    if not _is_number(b):
        raise NoMethod
    return (a > b) - (a < b)


INT_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("toString", 0): _int_str,
    ("intValue", 0): lambda n: _wrap(n, 32),
    ("longValue", 0): lambda n: _wrap(n, 64),
    ("shortValue", 0): lambda n: _wrap(n, 16),
    ("byteValue", 0): lambda n: _wrap(n, 8),
    ("doubleValue", 0): _to_float,
    ("floatValue", 0): _to_float,
    ("equals", 1): java_equals,
    ("compareTo", 1): _compare_numbers,
    ("hashCode", 0): lambda n: _wrap(n ^ (n >> 32), 32),
}

FLOAT_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("toString", 0): java_double,
    ("intValue", 0): lambda d: _saturate(d, 32),
    ("longValue", 0): lambda d: _saturate(d, 64),
    ("doubleValue", 0): lambda d: d,
    ("floatValue", 0): lambda d: d,
    ("isNaN", 0): lambda d: d != d,
    ("isInfinite", 0): lambda d: d in (math.inf, -math.inf),
    ("equals", 1): java_equals,
    ("compareTo", 1): _compare_numbers,
}

BOOL_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("toString", 0): lambda b: "true" if b else "false",
    ("booleanValue", 0): lambda b: b,
    ("equals", 1): java_equals,
}

SCOPE_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("getIndex", 0): lambda s: s.index,
    ("getCount", 0): lambda s: s.index + 1,
    ("hasNext", 0): lambda s: s.has_next,
    ("getHasNext", 0): lambda s: s.has_next,
    ("isFirst", 0): lambda s: s.index == 0,
    ("getFirst", 0): lambda s: s.index == 0,
    ("isLast", 0): lambda s: not s.has_next,
    ("getLast", 0): lambda s: not s.has_next,
    ("getParent", 0): lambda s: s.parent,
    ("getTopmost", 0): lambda s: _topmost(s),
    ("getDepth", 0): lambda s: _depth(s),
}


def _topmost(scope: ForeachScope) -> ForeachScope:
    while type(scope.parent) is ForeachScope:
        scope = scope.parent
    return scope


def _depth(scope: ForeachScope) -> int:
    depth = 1
    while type(scope.parent) is ForeachScope:
        scope = scope.parent
        depth += 1
    return depth


BLOCK_METHODS: dict[tuple[str, int], Callable[..., Any]] = {("toString", 0): Block.render}

METHODS: dict[type, dict[tuple[str, int], Callable[..., Any]]] = {
    str: STRING_METHODS,
    list: LIST_METHODS,
    JList: LIST_METHODS,
    StrArray: ARRAY_METHODS,
    dict: MAP_METHODS,
    int: INT_METHODS,
    float: FLOAT_METHODS,
    bool: BOOL_METHODS,
    Entry: ENTRY_METHODS,
    ForeachScope: SCOPE_METHODS,
    Block: BLOCK_METHODS,
}


def _table(value: Any) -> dict[tuple[str, int], Callable[..., Any]] | None:
    table = METHODS.get(type(value))
    if table is None:
        for base in (dict, list, str, bool, int, float):
            if isinstance(value, base):
                return METHODS[base]
    return table


# --------------------------------------------------------------------------------------------------------------------
# Reference steps: `.name`, `.name(args)`, `[key]`, and #set targets


def _invoke(table: dict, obj: Any, name: str, args: list[Any]) -> Any:
    method = table.get((name, len(args)))
    if method is None:
        return None
    try:
        return method(obj, *args)
    except NoMethod:
        return None


def call(obj: Any, name: str, args: list[Any]) -> Any:
    """`$obj.name(args…)`; None when no method matches."""
    table = METHODS.get(type(obj))
    if table is not None:
        return _invoke(table, obj, name, args)
    if isinstance(obj, VtlObject):
        try:
            return obj.vtl_call(name, args)
        except Missing:
            pass
        if not args and len(name) > 3 and name.startswith("get"):
            try:
                return obj.vtl_get(name[3].lower() + name[4:])
            except Missing:
                return None
        return None
    table = _table(obj)
    return None if table is None else _invoke(table, obj, name, args)


_GETTERS: dict[str, tuple[tuple[str, int], tuple[str, int], tuple[str, int]]] = {}


def prop(obj: Any, name: str) -> Any:
    """`$obj.name`: a map's key; a host object's property; else the Java bean getter getName()/isName()."""
    kind = type(obj)
    if kind is dict:
        return obj.get(name)
    if kind is ForeachScope:
        if name == "hasNext":
            return obj.has_next
        if name == "index":
            return obj.index
        if name == "count":
            return obj.index + 1
    if isinstance(obj, VtlObject):
        try:
            return obj.vtl_get(name)
        except Missing:
            return None
    if isinstance(obj, dict):
        return _map_get(obj, name)
    table = _table(obj)
    if table is None:
        return None
    getters = _GETTERS.get(name)
    if getters is None:
        cap = name[:1].upper() + name[1:]
        getters = _GETTERS[name] = (("get" + cap, 0), ("get" + name, 0), ("is" + cap, 0))
    for key in getters:
        method = table.get(key)
        if method is not None:
            try:
                return method(obj)
            except NoMethod:
                return None
    return None


def index(obj: Any, key: Any) -> Any:
    """`$obj[key]`: list/array get(int) (negative counts from the end), map get(key), else a get(key) method."""
    kind = type(obj)
    if kind is dict:
        return _map_get(obj, key)
    if kind is list or kind is JList or kind is StrArray or (kind is not str and isinstance(obj, list)):
        if type(key) is not int or not _INT_MIN <= key <= _INT_MAX:
            return None  # no get(String) on a list
        if key < 0:
            key += len(obj)
        if not 0 <= key < len(obj):
            raise java_error("IndexOutOfBoundsException", f"Index: {key}, Size: {len(obj)}")
        return obj[key]
    if isinstance(obj, VtlObject):
        try:
            return obj.vtl_call("get", [key])
        except Missing:
            return None
    return call(obj, "get", [key])


def set_prop(obj: Any, name: str, value: Any) -> None:
    """`#set($obj.name = value)`: a map's put; a setter; silently nothing when there is neither."""
    if type(obj) is dict or isinstance(obj, dict):
        _map_put(obj, name, value)
        return
    if isinstance(obj, VtlObject):
        for method, args in (("set" + name[:1].upper() + name[1:], [value]), ("put", [name, value])):
            try:
                obj.vtl_call(method, args)
                return
            except Missing:
                continue
        return
    if type(obj) is Entry and name == "value":
        _entry_set_value(obj, value)


def set_index(obj: Any, key: Any, value: Any) -> None:
    """`#set($obj[key] = value)`: set(int, value) on a list (negative counts from the end), else put(key, value)."""
    if isinstance(obj, dict):
        _map_put(obj, key, value)
        return
    if isinstance(obj, list):
        if type(key) is not int:
            return
        if key < 0:
            key += len(obj)
        _list_set(obj, key, value)
        return
    if isinstance(obj, VtlObject):
        for method in ("set", "put"):
            try:
                obj.vtl_call(method, [key, value])
                return
            except Missing:
                continue


__all__ = [
    "MAX_LOOP",
    "Block",
    "BreakSignal",
    "Entry",
    "ForeachScope",
    "JList",
    "NoMethod",
    "Out",
    "State",
    "StopSignal",
    "StrArray",
    "add",
    "call",
    "div",
    "eq",
    "ge",
    "gt",
    "index",
    "int_range",
    "iterate",
    "java_double",
    "java_equals",
    "java_regex",
    "java_split",
    "le",
    "loop_range",
    "lt",
    "mod",
    "mul",
    "ne",
    "new_out",
    "prop",
    "set_index",
    "set_prop",
    "sub",
    "to_string",
    "truthy",
]
