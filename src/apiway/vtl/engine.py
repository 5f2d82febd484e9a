"""Velocity (VTL) mapping templates as API Gateway runs them: Apache Velocity 1.7 plus API Gateway's Java objects.

`compile_vtl` parses a template once (at deploy time) and turns it into Python source that is compiled with
`compile()`: rendering runs straight-line Python with no parsing, scanning or tree walking. `render` takes the
top-level variables (`input`, `util`, `context`, `stageVariables` …) and returns the output text.

Two behaviours follow what AWS was recorded doing rather than stock Velocity 1.7 (see `compile_vtl`):

* null and undefined references: AWS renders them as the empty string, and *evaluates* them as the empty string
  too — `#if($undefined)` is true there, `"$undefined" == ""` is true, `\\$undefined` prints `$undefined`.
* whitespace: Velocity 1.7's own rules, which AWS keeps — a directive's closing `)` swallows the rest of its
  line when only spaces/tabs and a newline follow; `#end`/`#else` likewise; `#set` also swallows the spaces and
  tabs in front of it when they start a line (or follow another directive); `##` comments swallow their newline.
  So a line holding only `#set(...)` leaves no blank line; an indented `#if(...)` line leaves its indentation.
"""

from __future__ import annotations

from typing import Any

from apiway.vtl.compiler import compile_template
from apiway.vtl.errors import MAX_LOOP, MAX_MACRO_DEPTH, MAX_OUTPUT, TemplateRuntimeError, TemplateSyntaxError
from apiway.vtl.parser import parse

# The engine's public face: its limits and errors live in errors.py, which the engine's parts import.
__all__ = [
    "MAX_LOOP",
    "MAX_MACRO_DEPTH",
    "MAX_OUTPUT",
    "CompiledTemplate",
    "TemplateRuntimeError",
    "TemplateSyntaxError",
    "compile_vtl",
]

class CompiledTemplate:
    """A template compiled once; `render` may be called any number of times, from any number of threads."""

    __slots__ = ("_function", "source", "static")

    def __init__(self, source: str, static: str | None, function: Any) -> None:
        self.source = source
        self.static = static
        """The output when the template has no references or directives (comments and escapes resolved)."""
        self._function = function

    def render(self, variables: dict[str, Any]) -> str:
        """Render with `variables` (top-level names without `$`). `#set` of a top-level name changes only this
        render's scope; `#set($a.b = …)` writes into the caller's nested maps, which is how templates set
        `$context.requestOverride.*` / `$context.responseOverride.*`."""
        if self.static is not None:
            return self.static
        return self._function(variables)

    def __repr__(self) -> str:
        return f"<CompiledTemplate {self.source[:40]!r}>"


def compile_vtl(source: str, *, velocity_nulls: bool = False, macros: bool = True) -> CompiledTemplate:
    """Compile a mapping template; raises TemplateSyntaxError.

    `velocity_nulls=True` gives stock Velocity 1.7's null handling instead of AWS's: a null or undefined
    reference is false in `#if`, unequal to "", and `#set` to it leaves the variable as it was (it still renders
    as the empty string, as the gateway wants). The default follows what AWS was recorded doing (module doc).

    `macros=False` treats `#macro` as AWS does (its recorded renders show inline macros are not supported): a
    definition renders nothing and a call renders as its own source text.
    """
    template = parse(source, macros=macros)
    static, function = compile_template(template, velocity_nulls=velocity_nulls)
    return CompiledTemplate(source, static, function)
