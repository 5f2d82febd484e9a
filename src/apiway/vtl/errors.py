"""The template engine's limits and errors, shared by its lexer, parser, compiler and runtime values."""

from __future__ import annotations

MAX_OUTPUT = 1_000_000
"""Characters a render may produce (also the longest string a template may build)."""

MAX_LOOP = 1000
"""Iterations of one #foreach (AWS's quota). Like Velocity's `directive.foreach.maxloops`, which is how AWS
applies it, the loop simply stops after this many iterations; it is not an error."""

MAX_MACRO_DEPTH = 50
"""Nesting of macro calls and #define block renders."""


class TemplateSyntaxError(Exception):
    """The template does not parse. `line` and `column` are 1-based."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.message = message


class TemplateRuntimeError(Exception):
    """Rendering failed: a limit was exceeded, or Velocity would have thrown (a Java exception in a method call,
    such as StringIndexOutOfBoundsException). API Gateway answers 500."""
