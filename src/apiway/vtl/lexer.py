"""Lexical rules of Velocity 1.7 templates (its Parser.jjt token definitions), used by the parser.

Velocity's lexer is modal — plain text, references, directive arguments — so the parser scans characters itself
and uses the patterns here for the tokens of each mode. Everything here runs at compile time only.
"""

from __future__ import annotations

import bisect
import re

from apiway.vtl.errors import TemplateSyntaxError

# The characters that end a run of plain text: references, directives and escapes start with them.
SPECIAL = re.compile(r"[$#\\]")

# `$name`, `.name`: a letter or `_`, then letters, digits, `_` and `-` (`$foo-bar` is one name in Velocity).
IDENT = re.compile(r"[a-zA-Z_][a-zA-Z0-9_\-]*")
IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# `#name` and `#{name}` after a hash (directives, macro calls); `@` is allowed as in Velocity.
WORD = re.compile(r"[a-zA-Z_@][a-zA-Z0-9_@]*")
BRACKETED_WORD = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_@]*)\}")

# Whitespace inside directive arguments (newlines included).
WHITESPACE = re.compile(r"[ \t\r\n]*")

# What a directive's closing `)` (and `#end`, `#else`) swallows: spaces/tabs up to and including a newline.
LINE_REST = re.compile(r"[ \t]*(?:\r\n|\n|\r)")

# A run of text that #set swallows when it is the whole text token in front of it.
BLANK_RUN = re.compile(r"[ \t]+")

# `#set` is followed by spaces only, then `(` (Velocity's SET_DIRECTIVE token).
SET_PAREN = re.compile(r" *\(")

# Other directives may have any whitespace, newlines included, before their `(`.
PAREN_AHEAD = re.compile(r"[ \t\r\n]*\(")

NEWLINE = re.compile(r"\r\n|\r|\n")

# Numbers in directive arguments. `1..3` is the integer 1 then `..` (a range), never the float `1.`.
NUMBER = re.compile(r"-?(?:\d+\.(?!\.)\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)")

UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")

# Directives Velocity 1.7 registers (escaping `\#name` of these drops the backslash) and the grammar's own words.
REGISTERED_DIRECTIVES = frozenset(
    {"foreach", "include", "parse", "macro", "literal", "evaluate", "break", "define", "stop"}
)
CONTROL_WORDS = frozenset({"if", "else", "elseif", "end"})
RESERVED_NAMES = REGISTERED_DIRECTIVES | CONTROL_WORDS | {"set"}


class Source:
    """The template text and its line starts, to turn offsets into 1-based line and column numbers."""

    __slots__ = ("starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in NEWLINE.finditer(text)]

    def locate(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def error(self, offset: int, message: str) -> TemplateSyntaxError:
        line, column = self.locate(offset)
        return TemplateSyntaxError(line, column, message)


def string_end(text: str, start: int) -> int:
    """The offset just past the string literal whose quote is at `start`; -1 if it is not closed.
    A doubled quote (`''` in '…', `""` in "…") stands for the quote itself."""
    quote = text[start]
    i = start + 1
    while True:
        end = text.find(quote, i)
        if end < 0:
            return -1
        if text.startswith(quote, end + 1):
            i = end + 2
            continue
        return end + 1


def unescape_unicode(image: str) -> str:
    """Double-quoted literals turn `\\uXXXX` into the character (the only backslash escape Velocity applies)."""
    if "\\u" not in image:
        return image
    return UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), image)


def number_value(image: str) -> int | float:
    if any(ch in image for ch in ".eE"):
        return float(image)
    return int(image)


def describe(text: str, pos: int) -> str:
    """How an error message names what is at `pos`."""
    if pos >= len(text):
        return "end of template"
    ch = text[pos]
    if ch in "\r\n":
        return "end of line"
    word = WORD.match(text, pos)
    if word:
        return repr(word.group())
    return repr(ch)
