"""Syntax tree → Python source → code object, once per template.

Each template becomes a function `_body(c, o)`: `c` is the render's scope (a copy of the caller's top-level
variables), `o` the output buffer. Text is appended as constants, references become inline dictionary lookups
(`type(v) is dict`) with calls into `java` only for other types, `#if` becomes `if`, `#foreach` a `for` loop,
`#break` a `break`. Macros, `#define` blocks and strings holding directives become functions of their own.

Nothing is parsed, scanned or walked at render time; the generated code calls only the helpers bound below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from apiway.vtl.errors import MAX_LOOP, MAX_MACRO_DEPTH, MAX_OUTPUT, TemplateRuntimeError, TemplateSyntaxError
from apiway.vtl.java.dispatch import call, index, prop, set_index, set_prop
from apiway.vtl.java.exceptions import BreakSignal, StopSignal
from apiway.vtl.java.limits import CALL_COST, MAX_EXPANDED, MAX_ITERATIONS, check_len
from apiway.vtl.java.loops import int_range, iterate, loop_range
from apiway.vtl.java.maps import hashable_key
from apiway.vtl.java.ops import add, div, eq, ge, gt, le, lt, mod, mul, ne, sub, truthy
from apiway.vtl.java.text import to_string
from apiway.vtl.java.values import Block, ForeachScope, JList, Out, State, new_out, raise_overexpanded
from apiway.vtl.nodes import (
    Binary,
    Break,
    Call,
    Const,
    Define,
    Expr,
    Foreach,
    If,
    Index,
    Interp,
    ListExpr,
    Macro,
    MacroCall,
    MapExpr,
    Node,
    Not,
    Output,
    Prop,
    RangeExpr,
    Ref,
    Set,
    Step,
    Stop,
    Template,
    Text,
)

_MISSING = object()


def _charge(out: Out, count: int) -> None:
    state = out.st
    state.budget -= count if count < MAX_LOOP else MAX_LOOP
    if state.budget < 0:
        raise TemplateRuntimeError(f"more than {MAX_ITERATIONS} #foreach iterations in one render")


def _enter(out: Out) -> State:
    state = out.st
    if state.depth >= MAX_MACRO_DEPTH:
        raise TemplateRuntimeError(f"macro calls nested more than {MAX_MACRO_DEPTH} deep")
    state.depth += 1
    state.expanded += CALL_COST
    if state.expanded > MAX_EXPANDED:
        raise_overexpanded()
    return state


_HELPERS: dict[str, Any] = {
    "P": prop,
    "M": call,
    "I": index,
    "S": to_string,
    "SP": set_prop,
    "SI": set_index,
    "IT": iterate,
    "LR": loop_range,
    "RG": int_range,
    "EQ": eq,
    "NE": ne,
    "LT": lt,
    "LE": le,
    "GT": gt,
    "GE": ge,
    "ADD": add,
    "SUB": sub,
    "MUL": mul,
    "DIV": div,
    "MOD": mod,
    "CK": check_len,
    "HK": hashable_key,
    "JL": JList,
    "Block": Block,
    "Scope": ForeachScope,
    "MISS": _MISSING,
    "BRK": BreakSignal,
    "STOP": StopSignal,
    "NO": new_out,
    "CHARGE": _charge,
    "ENTER": _enter,
}

_MAX_INDENT = 40
_MAX_BLOCKS = 12
_ARITHMETIC = {"+": "ADD", "-": "SUB", "*": "MUL", "/": "DIV", "%": "MOD"}
_COMPARISON = {"eq": "EQ", "ne": "NE", "lt": "LT", "le": "LE", "gt": "GT", "ge": "GE"}


def compile_template(template: Template, *, velocity_nulls: bool = False) -> tuple[str | None, Callable[..., str]]:
    """(static output or None, render function taking the variables dict)."""
    macros = template.macros if template.macros_enabled else {}
    for macro in template.macros.values():
        macro.body = _resolve(macro.body, macros)
    body = _resolve(template.body, macros)
    if all(type(node) is Text for node in body):
        static = "".join(node.text for node in body)  # type: ignore[union-attr]
        return static, lambda _variables: static
    generator = _Generator(macros, not velocity_nulls, _names(body, macros))
    try:
        source = generator.module(body)
    except RecursionError:
        raise TemplateSyntaxError(1, 1, "template nested too deeply") from None
    namespace = dict(_HELPERS)
    namespace["K"] = generator.constants
    try:
        code = compile(source, "<mapping template>", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        raise TemplateSyntaxError(1, 1, "template nested too deeply") from None
    exec(code, namespace)
    function = namespace["_body"]
    return None, _renderer(function)


def _renderer(function: Callable[[dict, Out], None]) -> Callable[[dict[str, Any]], str]:
    make_out, make_state, stops = new_out, State, (StopSignal, BreakSignal)

    def render(variables: dict[str, Any]) -> str:
        out = make_out(make_state())
        try:
            function(dict(variables), out)
        except stops:
            pass
        except RecursionError:
            raise TemplateRuntimeError("template nested too deeply") from None
        text = "".join(out)
        if len(text) > MAX_OUTPUT:
            raise TemplateRuntimeError(f"template output exceeds {MAX_OUTPUT} characters")
        return text

    return render


# --------------------------------------------------------------------------------------------------------------------
# Tree passes


def _resolve(nodes: list[Node], macros: dict[str, Macro]) -> list[Node]:
    """Turn calls of macros that do not exist into their source text and merge adjacent text, in this block and
    the blocks nested in it (strings are resolved when they are compiled)."""
    out: list[Node] = []
    for node in nodes:
        if type(node) is MacroCall and node.name not in macros:
            node = Text(node.source)
        elif type(node) is If:
            node.branches = [(condition, _resolve(body, macros)) for condition, body in node.branches]
            if node.otherwise is not None:
                node.otherwise = _resolve(node.otherwise, macros)
        elif type(node) is Foreach or type(node) is Define:
            node.body = _resolve(node.body, macros)
        if type(node) is Text and out and type(out[-1]) is Text:
            out[-1] = Text(out[-1].text + node.text)  # type: ignore[union-attr]
        elif type(node) is not Text or node.text:
            out.append(node)
    return out


def _subexpressions(expr: Expr) -> Iterator[Expr]:
    yield expr
    kind = type(expr)
    if kind is Ref:
        for step in expr.steps:  # type: ignore[union-attr]
            if type(step) is Call:
                for arg in step.args:
                    yield from _subexpressions(arg)
            elif type(step) is Index:
                yield from _subexpressions(step.key)
    elif kind is ListExpr:
        for item in expr.items:  # type: ignore[union-attr]
            yield from _subexpressions(item)
    elif kind is MapExpr:
        for key, value in expr.items:  # type: ignore[union-attr]
            yield from _subexpressions(key)
            yield from _subexpressions(value)
    elif kind is RangeExpr:
        yield from _subexpressions(expr.low)  # type: ignore[union-attr]
        yield from _subexpressions(expr.high)  # type: ignore[union-attr]
    elif kind is Binary:
        yield from _subexpressions(expr.left)  # type: ignore[union-attr]
        yield from _subexpressions(expr.right)  # type: ignore[union-attr]
    elif kind is Not:
        yield from _subexpressions(expr.operand)  # type: ignore[union-attr]
    elif kind is Interp:
        for node in expr.body:  # type: ignore[union-attr]
            yield from _node_expressions(node)


def _node_expressions(node: Node) -> Iterator[Expr]:
    kind = type(node)
    if kind is Output:
        yield from _subexpressions(node.ref)  # type: ignore[union-attr]
    elif kind is Set:
        yield from _subexpressions(node.target)  # type: ignore[union-attr]
        yield from _subexpressions(node.value)  # type: ignore[union-attr]
    elif kind is If:
        for condition, body in node.branches:  # type: ignore[union-attr]
            yield from _subexpressions(condition)
            for child in body:
                yield from _node_expressions(child)
        for child in node.otherwise or ():  # type: ignore[union-attr]
            yield from _node_expressions(child)
    elif kind is Foreach:
        yield from _subexpressions(node.iterable)  # type: ignore[union-attr]
        for child in node.body:  # type: ignore[union-attr]
            yield from _node_expressions(child)
    elif kind is Define:
        for child in node.body:  # type: ignore[union-attr]
            yield from _node_expressions(child)
    elif kind is MacroCall:
        for arg in node.args:  # type: ignore[union-attr]
            yield from _subexpressions(arg)


def _names(body: list[Node], macros: dict[str, Macro]) -> set[str]:
    """Every variable name a reference of the template starts with."""
    names: set[str] = set()
    for nodes in [body, *(macro.body for macro in macros.values())]:
        for node in nodes:
            for expr in _node_expressions(node):
                if type(expr) is Ref:
                    names.add(expr.root)
    return names


# --------------------------------------------------------------------------------------------------------------------
# Code generation


class _Generator:
    def __init__(self, macros: dict[str, Macro], aws_nulls: bool, names: set[str]) -> None:
        self.macros = macros
        self.aws_nulls = aws_nulls
        self.count_var = "velocityCount" in names
        self.has_next_var = "velocityHasNext" in names
        self.scope_var = "foreach" in names
        self.constants: list[Any] = []
        self.functions: list[str] = []
        self.macro_functions: dict[str, str] = {}
        self.lines: list[str] = []
        self.depth = 1
        self.loops = 0  # enclosing #foreach loops in the function being generated (#break is `break` inside one)
        self.blocks = 0  # enclosing Python for/try blocks (CPython allows 20)
        self.counter = 0

    # ----------------------------------------------------------------------------------------------------------------
    # plumbing

    def module(self, body: list[Node]) -> str:
        self.function("_body", "c, o", body)
        return "\n\n".join(self.functions) + "\n"

    def function(self, name: str, params: str, body: list[Node], prologue: tuple[str, ...] = (),
                 guarded: tuple[tuple[str, ...], tuple[str, ...]] | None = None) -> str:
        """Generate `def name(params)` around `body`; `guarded` = (lines of a try's except/finally tail)."""
        saved = self.lines, self.depth, self.loops, self.blocks
        self.lines, self.depth, self.loops, self.blocks = [], 1, 0, 0 if guarded is None else 1
        self.emit(f"def {name}({params}):")
        self.depth += 1
        for line in prologue:
            self.emit(line)
        self.emit("a = o.append")
        if guarded is None:
            self.block(body)
        else:
            self.emit("try:")
            self.depth += 1
            self.block(body)
            self.depth -= 1
            handlers, final = guarded
            for line in handlers:
                self.emit(line)
            if final:
                self.emit("finally:")
                self.depth += 1
                for line in final:
                    self.emit(line)
                self.depth -= 1
        self.functions.append("\n".join(self.lines))
        self.lines, self.depth, self.loops, self.blocks = saved
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " * (self.depth - 1) + line)

    def temp(self, prefix: str = "t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def block(self, nodes: list[Node]) -> None:
        start = len(self.lines)
        for node in nodes:
            self.statement(node)
        if len(self.lines) == start:
            self.emit("pass")

    # ----------------------------------------------------------------------------------------------------------------
    # statements

    def statement(self, node: Node) -> None:
        kind = type(node)
        if (kind is If or kind is Foreach) and (self.depth > _MAX_INDENT or self.blocks >= _MAX_BLOCKS):
            self.separately(node)
            return
        if kind is Text:
            self.emit(f"a({node.text!r})")  # type: ignore[union-attr]
        elif kind is Output:
            self.output(node)  # type: ignore[arg-type]
        elif kind is Set:
            self.assign(node)  # type: ignore[arg-type]
        elif kind is If:
            self.condition_chain(node)  # type: ignore[arg-type]
        elif kind is Foreach:
            self.loop(node)  # type: ignore[arg-type]
        elif kind is Define:
            name = self.function(self.temp("_define"), "c, o", node.body)  # type: ignore[union-attr]
            self.emit(f"c[{node.name!r}] = Block({name}, c, o.st)")  # type: ignore[union-attr]
        elif kind is MacroCall:
            if node.name not in self.macros:  # type: ignore[union-attr]
                self.emit(f"a({node.source!r})")  # type: ignore[union-attr]
                return
            function = self.macro_function(node.name)  # type: ignore[union-attr]
            args = ", ".join(self.expr(arg) for arg in node.args)  # type: ignore[union-attr]
            self.emit(f"{function}(c, o, [{args}])")
            self.emit("if len(o) > o.limit:")  # a macro writes into this buffer: nested calls can fill it
            self.emit("    o.check()")
        elif kind is Break:
            self.emit("break" if self.loops else "raise BRK()")
        elif kind is Stop:
            self.emit("raise STOP()")
        else:  # pragma: no cover - every node kind is handled above
            raise AssertionError(kind)

    def separately(self, node: Node) -> None:
        """Deeply nested #if/#foreach: generate the statement as a function of its own (CPython limits nesting)."""
        in_loop = self.loops > 0
        name = self.function(self.temp("_part"), "c, o", [node])
        if in_loop:  # a #break inside it raises BRK there, which breaks this loop
            self.emit("try:")
            self.emit(f"    {name}(c, o)")
            self.emit("except BRK:")
            self.emit("    break")
        else:
            self.emit(f"{name}(c, o)")

    def output(self, node: Output) -> None:
        ref = node.ref
        value = self.ref_statements(ref)
        if node.escaped:
            # `\$x` prints the reference's source: `$x` when it has a value, `\$x` (all of it) when null.
            if self.aws_nulls:
                self.emit(f"a({node.prefix + ref.literal!r})")
            else:
                shown, null = node.prefix + ref.literal, node.prefix + "\\" + ref.literal
                self.emit(f"a({null!r} if {value} is None else {shown!r})")
            return
        if node.prefix:
            self.emit(f"a({node.prefix!r})")
        self.emit(f"a({value} if type({value}) is str else S({value}))")

    def ref_statements(self, ref: Ref) -> str:
        """Statements that leave the reference's value (None when null or undefined) in a new variable."""
        value = self.temp("v")
        self.emit(f"{value} = c.get({ref.root!r})")
        for step in ref.steps:  # flat: once None, every later test fails too
            self.emit(f"if {value} is not None:")
            self.emit(f"    {value} = {self.step(value, step)}")
        return value

    def assign(self, node: Set) -> None:
        target = node.target
        value = self.expr(node.value)
        nullable = self.nullable(node.value)
        depth = self.depth
        if not target.steps:
            if nullable:  # Velocity 1.7: `#set` to null leaves the variable as it was
                temp = self.temp()
                self.emit(f"{temp} = {value}")
                self.emit(f"if {temp} is not None:")
                self.depth += 1
                value = temp
            self.emit(f"c[{target.root!r}] = {value}")
            self.depth = depth
            return
        temp = self.temp()
        self.emit(f"{temp} = {value}")
        if nullable:
            self.emit(f"if {temp} is not None:")
            self.depth += 1
        holder = self.temp("h")
        self.emit(f"{holder} = c.get({target.root!r})")
        for step in target.steps[:-1]:
            self.emit(f"if {holder} is not None:")
            self.emit(f"    {holder} = {self.step(holder, step)}")
        self.emit(f"if {holder} is not None:")
        self.depth += 1
        last = target.steps[-1]
        if type(last) is Prop:
            self.emit(f"SP({holder}, {last.name!r}, {temp})")
        elif type(last) is Index:
            self.emit(f"SI({holder}, {self.expr(last.key)}, {temp})")
        else:  # `#set($a.b() = …)` sets nothing
            self.emit("pass")
        self.depth = depth

    def condition_chain(self, node: If) -> None:
        for number, (condition, body) in enumerate(node.branches):
            self.emit(f"{'if' if number == 0 else 'elif'} {self.condition(condition)}:")
            self.depth += 1
            self.block(body)
            self.depth -= 1
        if node.otherwise:
            self.emit("else:")
            self.depth += 1
            self.block(node.otherwise)
            self.depth -= 1

    def loop(self, node: Foreach) -> None:
        items, size, count, item = self.temp("it"), self.temp("n"), self.temp("i"), self.temp("x")
        iterable = node.iterable
        if type(iterable) is RangeExpr:
            source = f"LR({self.expr(iterable.low)}, {self.expr(iterable.high)})"
        else:
            source = f"IT({self.expr(iterable)})"
        self.emit(f"{items} = {source}")
        self.emit(f"if {items}:")
        self.depth += 1
        self.emit(f"{size} = len({items})")
        self.emit(f"CHARGE(o, {size})")
        self.emit(f"if {size} > {MAX_LOOP}:")
        self.emit(f"    {items} = {items}[:{MAX_LOOP}]")
        saved: list[tuple[str, str]] = [(node.var, self.temp("s"))]
        if self.count_var:
            saved.append(("velocityCount", self.temp("s")))
        if self.has_next_var:
            saved.append(("velocityHasNext", self.temp("s")))
        scope = None
        if self.scope_var:
            saved.append(("foreach", self.temp("s")))
            scope = self.temp("scope")
        for name, temp in saved:
            self.emit(f"{temp} = c.get({name!r}, MISS)")
        if scope is not None:
            self.emit(f"{scope} = Scope(None if {saved[-1][1]} is MISS else {saved[-1][1]})")
            self.emit(f"c['foreach'] = {scope}")
        self.emit(f"{count} = 0")
        self.emit(f"for {item} in {items}:")
        self.depth += 1
        self.emit(f"{count} += 1")
        self.emit(f"c[{node.var!r}] = {item}")
        if self.count_var:
            self.emit(f"c['velocityCount'] = {count}")
        if self.has_next_var:
            self.emit(f"c['velocityHasNext'] = {count} < {size}")
        if scope is not None:
            self.emit(f"{scope}.index = {count} - 1")
            self.emit(f"{scope}.has_next = {count} < {size}")
        self.loops += 1
        self.blocks += 1
        self.block(node.body)
        self.blocks -= 1
        self.loops -= 1
        self.emit("if len(o) > o.limit:")
        self.emit("    o.check()")
        self.depth -= 1
        for name, temp in saved:  # the loop's variables get their earlier values back
            self.emit(f"if {temp} is MISS:")
            self.emit(f"    c.pop({name!r}, None)")
            self.emit("else:")
            self.emit(f"    c[{name!r}] = {temp}")
        self.depth -= 1

    def macro_function(self, name: str) -> str:
        function = self.macro_functions.get(name)
        if function is not None:
            return function
        macro = self.macros[name]
        function = self.macro_functions[name] = self.temp("_macro")
        prologue = ["st = ENTER(o)", "n = len(args)"]
        restore = ["st.depth -= 1"]
        for position, param in enumerate(macro.params):
            saved = f"p{position}"
            prologue += [
                f"{saved} = c.get({param!r}, MISS)",
                f"if n > {position} and args[{position}] is not None:",
                f"    c[{param!r}] = args[{position}]",
                "else:",
                f"    c.pop({param!r}, None)",
            ]
            restore += [f"if {saved} is MISS:", f"    c.pop({param!r}, None)", "else:", f"    c[{param!r}] = {saved}"]
        handlers = ("except BRK:", "    pass")
        self.function(function, "c, o, args", macro.body, tuple(prologue), (handlers, tuple(restore)))
        return function

    # ----------------------------------------------------------------------------------------------------------------
    # expressions

    def step(self, value: str, step: Step) -> str:
        if type(step) is Prop:
            return f"({value}.get({step.name!r}) if type({value}) is dict else P({value}, {step.name!r}))"
        if type(step) is Call:
            args = ", ".join(self.expr(arg) for arg in step.args)
            return f"M({value}, {step.name!r}, [{args}])"
        return f"I({value}, {self.expr(step.key)})"  # type: ignore[union-attr]

    def ref_expr(self, ref: Ref) -> str:
        """The reference as an expression. AWS: null/undefined evaluates to "" (module doc of engine.py)."""
        temp = self.temp()
        tests = [f"({temp} := c.get({ref.root!r})) is None"]
        tests += [f"({temp} := {self.step(temp, step)}) is None" for step in ref.steps]
        null = "''" if self.aws_nulls else "None"
        return f"({null} if {' or '.join(tests)} else {temp})"

    def string_of(self, expr: str) -> str:
        temp = self.temp()
        return f"({temp} if type({temp} := {expr}) is str else S({temp}))"

    def expr(self, expr: Expr) -> str:
        kind = type(expr)
        if kind is Const:
            value = expr.value  # type: ignore[union-attr]
            if type(value) is float:
                return self.constant(value)
            return repr(value)
        if kind is Ref:
            return self.ref_expr(expr)  # type: ignore[arg-type]
        if kind is Interp:
            return self.interpolation(expr)  # type: ignore[arg-type]
        if kind is ListExpr:
            return f"JL([{', '.join(self.expr(item) for item in expr.items)}])"  # type: ignore[union-attr]
        if kind is MapExpr:
            items = []
            for key, value in expr.items:  # type: ignore[union-attr]
                key_code = self.expr(key)
                if not (type(key) is Const and type(key.value) in (str, int, bool)):
                    key_code = f"HK({key_code})"
                items.append(f"{key_code}: {self.expr(value)}")
            return "{" + ", ".join(items) + "}"
        if kind is RangeExpr:
            return f"RG({self.expr(expr.low)}, {self.expr(expr.high)})"  # type: ignore[union-attr]
        if kind is Not:
            return f"(not {self.condition(expr.operand)})"  # type: ignore[union-attr]
        assert kind is Binary
        op = expr.op  # type: ignore[union-attr]
        if op in ("and", "or"):
            return f"({self.condition(expr.left)} {op} {self.condition(expr.right)})"  # type: ignore[union-attr]
        function = _ARITHMETIC.get(op) or _COMPARISON[op]
        return f"{function}({self.expr(expr.left)}, {self.expr(expr.right)})"  # type: ignore[union-attr]

    def condition(self, expr: Expr) -> str:
        """A Python bool: #if's truth (null and false are false, anything else true)."""
        kind = type(expr)
        if kind is Not or (kind is Binary and expr.op not in _ARITHMETIC):  # type: ignore[union-attr]
            return self.expr(expr)
        if kind is Const:
            return repr(truthy(expr.value))  # type: ignore[union-attr]
        if kind is Ref and self.aws_nulls:
            return f"({self.ref_expr(expr)} is not False)"  # type: ignore[arg-type]
        temp = self.temp()
        return f"(({temp} := {self.expr(expr)}) is not None and {temp} is not False)"

    def nullable(self, expr: Expr) -> bool:
        kind = type(expr)
        if kind is Const:
            return expr.value is None  # type: ignore[union-attr]
        if kind is Ref:
            return not self.aws_nulls
        return kind is RangeExpr or (kind is Binary and expr.op in _ARITHMETIC)  # type: ignore[union-attr]

    def interpolation(self, expr: Interp) -> str:
        body = expr.body = _resolve(expr.body, self.macros)
        if all(type(node) is Text for node in body):
            text = "".join(node.text for node in body)  # type: ignore[union-attr]
            return repr(text[:-1] if expr.strip else text)
        simple = not expr.strip and all(
            type(node) is Text or (type(node) is Output and not node.escaped and not node.prefix)  # type: ignore
            for node in body
        )
        if simple:
            parts = [
                repr(node.text) if type(node) is Text else self.string_of(self.ref_expr(node.ref))  # type: ignore
                for node in body
            ]
            if len(parts) == 1:
                return parts[0]
            return f"CK({' + '.join(parts)})"
        name = self.temp("_string")
        tail = ("r = ''.join(o)", "return CK(r[:-1] if r else r)" if expr.strip else "return CK(r)")
        saved = self.lines, self.depth, self.loops, self.blocks
        self.lines, self.depth, self.loops, self.blocks = [], 1, 0, 0
        self.emit(f"def {name}(c, parent):")
        self.depth += 1
        self.emit("o = NO(parent.st)")
        self.emit("a = o.append")
        self.block(body)
        for line in tail:
            self.emit(line)
        self.functions.append("\n".join(self.lines))
        self.lines, self.depth, self.loops, self.blocks = saved
        return f"{name}(c, o)"
