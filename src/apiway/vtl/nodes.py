"""The syntax tree of a template. `pos` fields are offsets into the template source (for error messages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------------------------------
# Expressions


@dataclass(slots=True)
class Const:
    """A literal: int, float, str (single-quoted, or double-quoted without `$`/`#`), True, False or None."""

    value: Any


@dataclass(slots=True)
class Prop:
    """`.name` (also `getName()` for a Java bean)."""

    name: str


@dataclass(slots=True)
class Call:
    """`.name(args…)`."""

    name: str
    args: list[Expr]


@dataclass(slots=True)
class Index:
    """`[key]`."""

    key: Expr


Step = Prop | Call | Index


@dataclass(slots=True)
class Ref:
    """`$root.step…` — `literal` is its source text without leading backslashes (`$!{a.b}`)."""

    root: str
    steps: list[Step]
    literal: str
    pos: int


@dataclass(slots=True)
class Interp:
    """A double-quoted string with `$` or `#`: a small template rendered to a string. `strip` is set when the
    trailing space Velocity appends before parsing it could not be removed at compile time."""

    body: list[Node]
    strip: bool


@dataclass(slots=True)
class ListExpr:
    items: list[Expr]


@dataclass(slots=True)
class MapExpr:
    items: list[tuple[Expr, Expr]]


@dataclass(slots=True)
class RangeExpr:
    low: Expr
    high: Expr


@dataclass(slots=True)
class Binary:
    """Arithmetic (`+ - * / %`), comparison (`== != < <= > >=`) or logic (`and`, `or`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(slots=True)
class Not:
    operand: Expr


Expr = Const | Ref | Interp | ListExpr | MapExpr | RangeExpr | Binary | Not

# --------------------------------------------------------------------------------------------------------------------
# Template statements


@dataclass(slots=True)
class Text:
    text: str


@dataclass(slots=True)
class Output:
    """A reference in the template text. `prefix` holds the backslashes an even run of escapes leaves;
    `escaped` (an odd run) prints the reference's source text instead of its value."""

    ref: Ref
    escaped: bool = False
    prefix: str = ""


@dataclass(slots=True)
class Set:
    target: Ref
    value: Expr
    pos: int


@dataclass(slots=True)
class If:
    branches: list[tuple[Expr, list[Node]]]
    otherwise: list[Node] | None


@dataclass(slots=True)
class Foreach:
    var: str
    iterable: Expr
    body: list[Node]
    pos: int


@dataclass(slots=True)
class Define:
    name: str
    body: list[Node]


@dataclass(slots=True)
class MacroCall:
    """`#name(args…)`: a macro call when a macro of that name exists, else printed as `source`."""

    name: str
    args: list[Expr]
    source: str
    pos: int


@dataclass(slots=True)
class Break:
    pass


@dataclass(slots=True)
class Stop:
    pass


Node = Text | Output | Set | If | Foreach | Define | MacroCall | Break | Stop


@dataclass(slots=True)
class Macro:
    name: str
    params: list[str]
    body: list[Node]
    pos: int


@dataclass(slots=True)
class Template:
    body: list[Node]
    macros: dict[str, Macro] = field(default_factory=dict)
    macros_enabled: bool = True
