"""Template text → syntax tree, following Velocity 1.7's grammar (Parser.jjt) and its whitespace rules.

Whitespace, as Velocity 1.7 (and AWS) does it:

* The closing `)` of a directive (`#set`, `#if`, `#elseif`, `#foreach`, `#macro`, `#define`, a macro call…)
  swallows the spaces/tabs after it and one newline, when nothing else follows on the line.
* `#else`, `#end` (and `#{else}`, `#{end}`) swallow the same.
* `#set` also swallows the spaces/tabs in front of it when they are a text token of their own: at the start of
  the template, or after another directive, reference or comment — e.g. indentation after the line of a
  `#foreach(...)` whose newline was swallowed. Indentation that follows plain text (a text line) stays.
* `## comment` ends with, and swallows, its newline; `#* … *#` swallows nothing around it.

Escapes: `\\$ref` prints `$ref` (the reference's source); `\\\\$ref` prints `\\` and the value. `\\#if` prints
`#if` for Velocity's directive names (and macros defined earlier), keeping the backslash for other words.
"""

from __future__ import annotations

from apiway.vtl.errors import TemplateSyntaxError
from apiway.vtl.lexer import (
    ALPHA,
    BLANK_RUN,
    BRACKETED_WORD,
    CONTROL_WORDS,
    IDENT,
    IDENT_START,
    LINE_REST,
    NEWLINE,
    NUMBER,
    PAREN_AHEAD,
    REGISTERED_DIRECTIVES,
    RESERVED_NAMES,
    SET_PAREN,
    SPECIAL,
    WHITESPACE,
    WORD,
    Source,
    describe,
    number_value,
    string_end,
    unescape_unicode,
)
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

_WORD_OPERATORS = {"and": "and", "or": "or", "not": "not", "eq": "eq", "ne": "ne", "lt": "lt", "le": "le",
                   "gt": "gt", "ge": "ge"}
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"eq", "ne"}),
    frozenset({"lt", "le", "gt", "ge"}),
    frozenset({"+", "-"}),
    frozenset({"*", "/", "%"}),
)
_NO_CLOSERS: frozenset[str] = frozenset()
_IF_CLOSERS = frozenset({"end", "else", "elseif"})
_END = frozenset({"end"})


def parse(text: str, *, macros: bool = True) -> Template:
    """Parse a whole template. Raises TemplateSyntaxError."""
    source = Source(text)
    found: dict[str, Macro] = {}
    parser = _Parser(source, text, 0, True, found)
    try:
        body = parser.parse_all()
    except RecursionError:
        raise source.error(parser.pos, "template nested too deeply") from None
    return Template(body, found, macros)


class _TextBuffer:
    """Plain text waiting to become a Text node. `blank` is set when the last piece is a run of spaces/tabs that
    began a token of its own (what `#set` swallows)."""

    __slots__ = ("blank", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blank = False

    def run(self, text: str) -> None:
        self.parts.append(text)
        self.blank = BLANK_RUN.fullmatch(text) is not None

    def literal(self, text: str) -> None:
        if text:
            self.parts.append(text)
        self.blank = False

    def boundary(self) -> None:
        self.blank = False

    def swallow_blank(self) -> None:
        if self.blank:
            self.parts.pop()
            self.blank = False

    def flush(self, nodes: list[Node]) -> None:
        if self.parts:
            _add_text(nodes, "".join(self.parts))
            self.parts = []
        self.blank = False


def _add_text(nodes: list[Node], text: str) -> None:
    if not text:
        return
    if nodes and type(nodes[-1]) is Text:
        nodes[-1] = Text(nodes[-1].text + text)  # type: ignore[union-attr]
    else:
        nodes.append(Text(text))


class _Parser:
    """Parses `text`, which sits at offset `base` of the template source when `exact` (else errors point at
    `base`: used for string literals whose text changed when unescaped)."""

    def __init__(self, source: Source, text: str, base: int, exact: bool, macros: dict[str, Macro]) -> None:
        self.source = source
        self.text = text
        self.n = len(text)
        self.base = base
        self.exact = exact
        self.macros = macros
        self.pos = 0

    # ----------------------------------------------------------------------------------------------------------------
    # errors

    def error(self, pos: int, message: str) -> TemplateSyntaxError:
        return self.source.error(self.base + pos if self.exact else self.base, message)

    def unexpected(self, pos: int, wanted: str) -> TemplateSyntaxError:
        return self.error(pos, f"expected {wanted}, found {describe(self.text, pos)}")

    # ----------------------------------------------------------------------------------------------------------------
    # template text

    def parse_all(self) -> list[Node]:
        body, _closer, _at = self.parse_block(_NO_CLOSERS)
        return body

    def parse_block(self, closers: frozenset[str]) -> tuple[list[Node], str | None, int]:
        """Statements up to one of `closers` (`end`, `else`, `elseif`), which is consumed, or the end of the text.
        Returns the statements, the closer (None at the end) and the closer's offset."""
        nodes: list[Node] = []
        buf = _TextBuffer()
        text = self.text
        while True:
            start = self.pos
            found = SPECIAL.search(text, start)
            at = found.start() if found else self.n
            if at > start:
                buf.run(text[start:at])
            if at >= self.n:
                self.pos = self.n
                buf.flush(nodes)
                return nodes, None, self.n
            self.pos = at
            ch = text[at]
            if ch == "\\":
                self.backslashes(buf, nodes)
            elif ch == "$":
                if self.reference_starts(at):
                    buf.flush(nodes)
                    nodes.append(Output(self.parse_ref()))
                else:
                    self.lone_dollar(buf)
            else:
                closer = self.hash(buf, nodes, closers)
                if closer is not None:
                    buf.flush(nodes)
                    return nodes, closer, at

    def reference_starts(self, at: int) -> bool:
        """A `$` at `at` begins a reference: `$x`, `$!x`, `${x}`, `$!{x}`."""
        text, n = self.text, self.n
        p = at + 1
        if p < n and text[p] == "!":
            p += 1
        if p < n and text[p] == "{":
            p += 1
        return p < n and text[p] in IDENT_START

    def lone_dollar(self, buf: _TextBuffer) -> None:
        """`$` that starts no reference is text — except `$\\!name`, which prints `$!name` (one backslash fewer)."""
        text, at = self.text, self.pos
        p = at + 1
        while p < self.n and text[p] == "\\":
            p += 1
        if p > at + 1 and p + 1 < self.n and text[p] == "!" and text[p + 1] in IDENT_START:
            name = IDENT.match(text, p + 1)
            assert name is not None
            buf.literal("$" + text[at + 2 : name.end()])
            self.pos = name.end()
            return
        buf.literal("$")
        self.pos = at + 1

    def backslashes(self, buf: _TextBuffer, nodes: list[Node]) -> None:
        text, start = self.text, self.pos
        end = start
        while end < self.n and text[end] == "\\":
            end += 1
        count = end - start
        if end < self.n and text[end] == "$" and self.reference_starts(end):
            buf.flush(nodes)
            self.pos = end
            ref = self.parse_ref()
            nodes.append(Output(ref, escaped=count % 2 == 1, prefix="\\" * (count // 2)))
            return
        if end < self.n and text[end] == "#":
            word = self.directive_word(end + 1)
            if word is not None:
                name, word_end, bracketed = word
                if count % 2:
                    # `\#if`: the escape is consumed for Velocity's own words, kept for anything else.
                    known = name in RESERVED_NAMES or name in self.macros
                    buf.literal("\\" * (count // 2) + text[end:word_end] if known else text[start:word_end])
                    self.pos = word_end
                    return
                # `\\#if`: pairs before a control directive print as single backslashes; the directive runs.
                control = name in CONTROL_WORDS or (
                    not bracketed and name != "set" and (name in REGISTERED_DIRECTIVES or name in self.macros)
                )
                buf.literal("\\" * (count // 2) if control else text[start:end])
                self.pos = end
                return
        buf.literal(text[start:end])
        self.pos = end

    def directive_word(self, at: int) -> tuple[str, int, bool] | None:
        """The name after a `#`: `#name` or `#{name}` → (name, end offset, bracketed)."""
        if at >= self.n:
            return None
        if self.text[at] == "{":
            match = BRACKETED_WORD.match(self.text, at)
            return (match.group(1), match.end(), True) if match else None
        match = WORD.match(self.text, at)
        return (match.group(), match.end(), False) if match else None

    def line_rest(self, at: int) -> int:
        """After a directive's `)`, `#end` or `#else`: skip the rest of the line when it is only whitespace."""
        match = LINE_REST.match(self.text, at)
        return match.end() if match else at

    def hash(self, buf: _TextBuffer, nodes: list[Node], closers: frozenset[str]) -> str | None:
        text, at = self.text, self.pos
        nxt = at + 1
        if text.startswith("#", nxt):  # ## line comment, newline included
            newline = NEWLINE.search(text, nxt + 1)
            self.pos = newline.end() if newline else self.n
            buf.boundary()
            return None
        if text.startswith("*", nxt):  # #* block comment *#
            end = text.find("*#", nxt + 1)
            if end < 0:
                raise self.error(at, "unterminated comment (#* without *#)")
            self.pos = end + 2
            buf.boundary()
            return None
        if text.startswith("[[", nxt):  # #[[ unparsed text ]]#
            end = text.find("]]#", nxt + 2)
            if end < 0:
                raise self.error(at, "unterminated #[[ block (no ]]#)")
            buf.literal(text[nxt + 2 : end])
            self.pos = end + 3
            return None
        word = self.directive_word(nxt)
        if word is None:
            buf.literal("#")
            self.pos = nxt
            return None
        name, end, _bracketed = word
        if name == "set":
            paren = SET_PAREN.match(text, end)
            if paren is None:
                buf.literal(text[at:end])
                self.pos = end
                return None
            buf.swallow_blank()
            buf.flush(nodes)
            nodes.append(self.parse_set(at, paren.end()))
            return None
        if name in ("end", "else", "elseif"):
            if name not in closers:
                if name == "end":
                    raise self.error(at, "#end without a directive to close")
                raise self.error(at, f"#{name} without a matching #if")
            self.pos = end if name == "elseif" else self.line_rest(end)
            return name
        buf.flush(nodes)
        if name == "if":
            nodes.append(self.parse_if(at, end))
        elif name == "foreach":
            nodes.append(self.parse_foreach(at, end))
        elif name == "macro":
            self.parse_macro(at, end)
        elif name == "define":
            nodes.append(self.parse_define(at, end))
        elif name == "literal":
            _add_text(nodes, self.parse_literal(at, end))
        elif name in ("break", "stop"):
            paren = PAREN_AHEAD.match(text, end)
            if paren is None:
                self.pos = end
            else:
                self.directive_args(paren.end())
                self.pos = self.line_rest(self.pos)
            nodes.append(Break() if name == "break" else Stop())
        else:
            self.call_or_text(buf, nodes, at, name, end)
        return None

    def call_or_text(self, buf: _TextBuffer, nodes: list[Node], at: int, name: str, end: int) -> None:
        """`#name(args)`: a macro call (decided at compile time, when every macro is known); any other `#word`
        is text. Arguments that do not parse make it text too."""
        paren = PAREN_AHEAD.match(self.text, end)
        if paren is not None:
            try:
                args = self.directive_args(paren.end())
            except TemplateSyntaxError:
                args = None
            if args is not None:
                self.pos = self.line_rest(self.pos)
                nodes.append(MacroCall(name, args, self.text[at : self.pos], self.base + at))
                return
        buf.literal(self.text[at:end])
        self.pos = end

    # ----------------------------------------------------------------------------------------------------------------
    # directives

    def expect_paren(self, at: int, after: int, directive: str) -> None:
        """Skip whitespace after a directive's name and require its `(`."""
        space = WHITESPACE.match(self.text, after)
        assert space is not None
        p = space.end()
        if p >= self.n or self.text[p] != "(":
            raise self.error(at, f"#{directive} must be followed by '('")
        self.pos = p + 1

    def close_paren(self, what: str) -> None:
        self.skip_ws()
        if self.pos >= self.n or self.text[self.pos] != ")":
            raise self.unexpected(self.pos, f"')' to close {what}")
        self.pos = self.line_rest(self.pos + 1)

    def parse_set(self, at: int, after_paren: int) -> Set:
        self.pos = after_paren
        self.skip_ws()
        if self.pos >= self.n or self.text[self.pos] != "$" or not self.reference_starts(self.pos):
            raise self.unexpected(self.pos, "a reference such as $name after #set(")
        target = self.parse_ref()
        self.skip_ws()
        if not self.text.startswith("=", self.pos) or self.text.startswith("==", self.pos):
            raise self.unexpected(self.pos, "'=' in #set")
        self.pos += 1
        value = self.parse_expr()
        self.close_paren("#set")
        return Set(target, value, self.base + at)

    def parse_if(self, at: int, end: int) -> If:
        self.expect_paren(at, end, "if")
        condition = self.parse_expr()
        self.close_paren("the #if condition")
        body, closer, closer_at = self.parse_block(_IF_CLOSERS)
        branches: list[tuple[Expr, list[Node]]] = [(condition, body)]
        otherwise: list[Node] | None = None
        while True:
            if closer is None:
                raise self.error(at, "#if without a matching #end")
            if closer == "end":
                break
            if closer == "elseif":
                self.expect_paren(closer_at, self.pos, "elseif")
                condition = self.parse_expr()
                self.close_paren("the #elseif condition")
                body, closer, closer_at = self.parse_block(_IF_CLOSERS)
                branches.append((condition, body))
                continue
            otherwise, closer, closer_at = self.parse_block(_END)
            if closer is None:
                raise self.error(at, "#if without a matching #end")
            break
        return If(branches, otherwise)

    def loop_variable(self, directive: str) -> str:
        self.skip_ws()
        if self.pos >= self.n or self.text[self.pos] != "$" or not self.reference_starts(self.pos):
            raise self.unexpected(self.pos, f"a variable such as $item in #{directive}")
        var_at = self.pos
        ref = self.parse_ref()
        if ref.steps:
            raise self.error(var_at, f"#{directive} needs a plain variable, not {ref.literal}")
        return ref.root

    def parse_foreach(self, at: int, end: int) -> Foreach:
        self.expect_paren(at, end, "foreach")
        var = self.loop_variable("foreach")
        self.skip_ws()
        word = WORD.match(self.text, self.pos)
        if word is None or word.group() != "in":
            raise self.unexpected(self.pos, "'in' in #foreach")
        self.pos = word.end()
        iterable = self.parse_expr()
        self.close_paren("#foreach")
        body, closer, _closer_at = self.parse_block(_END)
        if closer is None:
            raise self.error(at, "#foreach without a matching #end")
        return Foreach(var, iterable, body, self.base + at)

    def parse_macro(self, at: int, end: int) -> None:
        self.expect_paren(at, end, "macro")
        self.skip_ws()
        word = WORD.match(self.text, self.pos)
        if word is None:
            raise self.unexpected(self.pos, "a macro name in #macro")
        name = word.group()
        if name in RESERVED_NAMES:
            raise self.error(self.pos, f"#{name} cannot be used as a macro name")
        self.pos = word.end()
        params: list[str] = []
        while True:
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                self.skip_ws()
            if self.text.startswith(")", self.pos):
                break
            if self.pos >= self.n or self.text[self.pos] != "$" or not self.reference_starts(self.pos):
                raise self.unexpected(self.pos, "a $parameter or ')' in #macro")
            param_at = self.pos
            ref = self.parse_ref()
            if ref.steps:
                raise self.error(param_at, f"a macro parameter must be a plain variable, not {ref.literal}")
            params.append(ref.root)
        self.pos = self.line_rest(self.pos + 1)
        body, closer, _closer_at = self.parse_block(_END)
        if closer is None:
            raise self.error(at, "#macro without a matching #end")
        self.macros.setdefault(name, Macro(name, params, body, self.base + at))

    def parse_define(self, at: int, end: int) -> Define:
        self.expect_paren(at, end, "define")
        name = self.loop_variable("define")
        self.close_paren("#define")
        body, closer, _closer_at = self.parse_block(_END)
        if closer is None:
            raise self.error(at, "#define without a matching #end")
        return Define(name, body)

    def parse_literal(self, at: int, end: int) -> str:
        """`#literal() … #end` (deprecated in 1.7): the block's source text, unrendered."""
        self.expect_paren(at, end, "literal")
        self.close_paren("#literal")
        start = self.pos
        _body, closer, closer_at = self.parse_block(_END)
        if closer is None:
            raise self.error(at, "#literal without a matching #end")
        return self.text[start:closer_at]

    def directive_args(self, after_paren: int) -> list[Expr]:
        """Arguments of a macro call (or #break/#stop): values separated by whitespace and/or commas, then `)`."""
        self.pos = after_paren
        args: list[Expr] = []
        while True:
            self.skip_ws()
            if self.pos >= self.n:
                raise self.unexpected(self.pos, "')'")
            ch = self.text[self.pos]
            if ch == ")":
                self.pos += 1
                return args
            if ch == "," and args:
                self.pos += 1
                continue
            word = WORD.match(self.text, self.pos)
            if word is not None and word.group() not in ("true", "false", "null"):
                args.append(Const(word.group()))
                self.pos = word.end()
                continue
            args.append(self.parse_primary())

    # ----------------------------------------------------------------------------------------------------------------
    # references

    def parse_ref(self) -> Ref:
        """`$name`, `$!name`, `${name}`, `$!{name}` followed by `.prop`, `.method(args)` and `[index]` steps."""
        text, n = self.text, self.n
        start = self.pos
        p = start + 1
        if text[p] == "!":
            p += 1
        formal = text[p] == "{"
        if formal:
            p += 1
        name = IDENT.match(text, p)
        assert name is not None
        root = name.group()
        p = name.end()
        steps: list[Step] = []
        while p < n:
            ch = text[p]
            if ch == "[":
                self.pos = p + 1
                key = self.parse_expr()
                self.skip_ws()
                if not text.startswith("]", self.pos):
                    raise self.unexpected(self.pos, "']' to close the index")
                steps.append(Index(key))
                p = self.pos + 1
            elif ch == "." and p + 1 < n and text[p + 1] in ALPHA:
                member = IDENT.match(text, p + 1)
                assert member is not None
                p = member.end()
                if p < n and text[p] == "(":
                    self.pos = p + 1
                    steps.append(Call(member.group(), self.call_args()))
                    p = self.pos
                else:
                    steps.append(Prop(member.group()))
            else:
                break
        if formal:
            if p >= n or text[p] != "}":
                raise self.unexpected(p, "'}' to close ${" + root)
            p += 1
        self.pos = p
        return Ref(root, steps, text[start:p], self.base + start)

    def call_args(self) -> list[Expr]:
        args: list[Expr] = []
        self.skip_ws()
        if self.text.startswith(")", self.pos):
            self.pos += 1
            return args
        while True:
            args.append(self.parse_expr())
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith(")", self.pos):
                self.pos += 1
                return args
            raise self.unexpected(self.pos, "',' or ')' in the method arguments")

    # ----------------------------------------------------------------------------------------------------------------
    # expressions

    def skip_ws(self) -> None:
        match = WHITESPACE.match(self.text, self.pos)
        assert match is not None
        self.pos = match.end()

    def parse_expr(self) -> Expr:
        return self.parse_level(0)

    def peek_operator(self) -> tuple[str | None, int]:
        """The binary operator at the current position (after whitespace): (name, end) or (None, pos)."""
        self.skip_ws()
        text, p = self.text, self.pos
        if p >= self.n:
            return None, p
        two = text[p : p + 2]
        if two == "||":
            return "or", p + 2
        if two == "&&":
            return "and", p + 2
        if two == "==":
            return "eq", p + 2
        if two == "!=":
            return "ne", p + 2
        if two == "<=":
            return "le", p + 2
        if two == ">=":
            return "ge", p + 2
        ch = text[p]
        if ch == "<":
            return "lt", p + 1
        if ch == ">":
            return "gt", p + 1
        if ch in "+-*/%":
            return ch, p + 1
        if ch in ALPHA:
            word = WORD.match(text, p)
            assert word is not None
            op = _WORD_OPERATORS.get(word.group())
            if op is not None and op != "not":
                return op, word.end()
        return None, p

    def parse_level(self, level: int) -> Expr:
        if level == len(_LEVELS):
            return self.parse_unary()
        left = self.parse_level(level + 1)
        operators = _LEVELS[level]
        while True:
            op, end = self.peek_operator()
            if op is None or op not in operators:
                return left
            self.pos = end
            left = Binary(op, left, self.parse_level(level + 1))

    def parse_unary(self) -> Expr:
        self.skip_ws()
        text, p = self.text, self.pos
        if text.startswith("!", p) and not text.startswith("!=", p):
            self.pos = p + 1
            return Not(self.parse_unary())
        if text.startswith("not", p):
            word = WORD.match(text, p)
            if word is not None and word.group() == "not":
                self.pos = word.end()
                return Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        self.skip_ws()
        text, p = self.text, self.pos
        if p >= self.n:
            raise self.unexpected(p, "a value")
        ch = text[p]
        if ch == "$" and self.reference_starts(p):
            return self.parse_ref()
        if ch in "\"'":
            return self.parse_string()
        if ch == "(":
            self.pos = p + 1
            inner = self.parse_expr()
            self.skip_ws()
            if not text.startswith(")", self.pos):
                raise self.unexpected(self.pos, "')'")
            self.pos += 1
            return inner
        if ch == "[":
            return self.parse_list()
        if ch == "{":
            return self.parse_map()
        number = NUMBER.match(text, p)
        if number is not None:
            self.pos = number.end()
            return Const(number_value(number.group()))
        word = WORD.match(text, p)
        if word is not None:
            value = {"true": True, "false": False, "null": None}.get(word.group(), word)
            if value is not word:
                self.pos = word.end()
                return Const(value)
        raise self.unexpected(p, "a value")

    def parse_list(self) -> Expr:
        """`[a, b]`, `[]` or the range `[n..m]`."""
        self.pos += 1
        self.skip_ws()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return ListExpr([])
        first = self.parse_expr()
        self.skip_ws()
        if self.text.startswith("..", self.pos):
            self.pos += 2
            high = self.parse_expr()
            self.skip_ws()
            if not self.text.startswith("]", self.pos):
                raise self.unexpected(self.pos, "']' to close the range")
            self.pos += 1
            return RangeExpr(first, high)
        items = [first]
        while True:
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                items.append(self.parse_expr())
                continue
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return ListExpr(items)
            raise self.unexpected(self.pos, "',' or ']' in the list")

    def parse_map(self) -> Expr:
        """`{key: value, …}` or `{}`."""
        self.pos += 1
        self.skip_ws()
        items: list[tuple[Expr, Expr]] = []
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return MapExpr(items)
        while True:
            key = self.parse_expr()
            self.skip_ws()
            if not self.text.startswith(":", self.pos):
                raise self.unexpected(self.pos, "':' in the map")
            self.pos += 1
            items.append((key, self.parse_expr()))
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return MapExpr(items)
            raise self.unexpected(self.pos, "',' or '}' in the map")

    def parse_string(self) -> Expr:
        """'single' is literal (`''` is a quote). "double" turns `""` into a quote and `\\uXXXX` into its
        character, and when it holds `$` or `#` is a template of its own, rendered to a string."""
        text, start = self.text, self.pos
        end = string_end(text, start)
        if end < 0:
            raise self.error(start, "unterminated string literal")
        self.pos = end
        raw = text[start + 1 : end - 1]
        if text[start] == "'":
            return Const(raw.replace("''", "'"))
        image = unescape_unicode(raw).replace('""', '"')
        if "$" not in raw and "#" not in raw:
            return Const(image)
        # Velocity parses the string with a space appended (unless it holds `##`) and cuts the last character
        # off the result; the space is almost always plain text at the end, so it is dropped here instead.
        has_comment = "##" in image
        exact = self.exact and image == raw
        inner = _Parser(self.source, image if has_comment else image + " ", self.base + start + (1 if exact else 0),
                        exact, self.macros)
        body = inner.parse_all()
        strip = False
        if not has_comment:
            last = body[-1] if body else None
            if type(last) is Text and last.text.endswith(" "):  # type: ignore[union-attr]
                trimmed = last.text[:-1]  # type: ignore[union-attr]
                if trimmed:
                    body[-1] = Text(trimmed)
                else:
                    body.pop()
            else:
                strip = True
        if not strip and all(type(node) is Text for node in body):
            return Const("".join(node.text for node in body))  # type: ignore[union-attr]
        return Interp(body, strip)
