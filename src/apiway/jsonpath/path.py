"""Evaluating a compiled path. A path is a tuple of tokens; each token's `apply` evaluates it at position `i` of
`tokens` against `model` and hands every selected value to `_step` for the rest of the path, while `CompiledPath`
carries the per-position definiteness flags that decide between "no result" and "skip"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.jsonpath.errors import MISSING, NotFound
from apiway.jsonpath.functions import AGGREGATES, aggregate, apply_function, numeric_values


class Token:
    """One step of a path; `definite` says whether it selects at most one value."""

    __slots__ = ()
    definite = True

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        raise NotImplementedError

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        """Whether a deep scan (`..`) evaluates this token at `model` (Jayway's scan predicates)."""
        return False


def _step(path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
    tokens = path.tokens
    if i == len(tokens):
        out.append(model)
    else:
        tokens[i].apply(path, i, model, root, out, require)


class Property(Token):
    __slots__ = ("definite", "names")

    def __init__(self, names: tuple[str, ...], leaf: bool) -> None:
        self.names = names
        # Several names in the last step merge into one map, which Jayway counts as definite.
        self.definite = len(names) == 1 or leaf

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if not isinstance(model, dict):
            if path.upstream_definite[i]:
                raise NotFound
            return
        names = self.names
        leaf = i == len(path.tokens) - 1
        if len(names) > 1 and leaf:
            merged = {}
            for name in names:
                if name in model:
                    merged[name] = model[name]
                elif require:
                    raise NotFound
            out.append(merged)
            return
        for name in names:
            if name in model:
                _step(path, i + 1, model[name], root, out, require)
            elif require or (not leaf and path.upstream_definite[i] and self.definite):
                raise NotFound

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        # A definite property step matches only the objects holding all its names.
        if not isinstance(model, dict):
            return False
        return not self.definite or all(name in model for name in self.names)


class Index(Token):
    __slots__ = ("definite", "indexes")

    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes
        self.definite = len(indexes) == 1

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if not isinstance(model, list):
            if path.upstream_definite[i]:
                raise NotFound
            return
        size = len(model)
        for index in self.indexes:
            if index < 0:
                index += size
            if 0 <= index < size:
                _step(path, i + 1, model[index], root, out, require)

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return isinstance(model, list)


class Slice(Token):
    __slots__ = ("start", "stop")
    definite = False

    def __init__(self, start: int | None, stop: int | None) -> None:
        self.start = start
        self.stop = stop

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if not isinstance(model, list):
            if path.upstream_definite[i]:
                raise NotFound
            return
        size = len(model)
        start, stop = self.start, self.stop
        # Jayway's three slice forms, including its handling of negative bounds.
        if stop is None:  # [from:]
            assert start is not None
            begin = max(0, start + size if start < 0 else start)
            indexes = range(begin, size)
        elif start is None:  # [:to]
            indexes = range(min(size, stop + size if stop < 0 else stop))
        else:  # [from:to]; an index below -size selects nothing, so iteration starts no lower than that
            indexes = range(max(start, -size), min(size, stop))
        for index in indexes:
            if index < 0:
                index += size
            if 0 <= index < size:
                _step(path, i + 1, model[index], root, out, require)

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return isinstance(model, list)


class _Wildcard(Token):
    __slots__ = ()
    definite = False

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if isinstance(model, dict):
            values: Any = list(model.values())
        elif isinstance(model, list):
            values = model
        else:
            return
        for value in values:
            _step(path, i + 1, value, root, out, require)

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return True


class Filter(Token):
    __slots__ = ("accept", "depth")
    definite = False

    def __init__(self, accept: Callable[[Any, Any], bool], depth: int = 1) -> None:
        self.accept = accept
        self.depth = depth  # 1, or one more than the deepest filter in the paths it tests

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        accept = self.accept
        if isinstance(model, dict):
            if accept(model, root):
                _step(path, i + 1, model, root, out, require)
        elif isinstance(model, list):
            for item in model:
                if accept(item, root):
                    _step(path, i + 1, item, root, out, require)
        elif path.upstream_definite[i]:
            raise NotFound

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return self.accept(model, root)


class _Scan(Token):
    """`..`: visits the model and everything below it, depth first, and evaluates the next token where that token's
    scan predicate matches (Jayway's ScanPathToken walk). On a matching array Jayway 2.x evaluates the rest of the
    path on every element and then filters by index in a roundabout way; evaluating the next token on the array
    gives the same results for `..[*]`, `..[n].name` and `..[?(...)]`."""

    __slots__ = ()
    definite = False

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        j = i + 1
        target = path.tokens[j]
        stack = [iter((model,))]
        while stack:
            node = next(stack[-1], MISSING)
            if node is MISSING:
                stack.pop()
                continue
            if isinstance(node, dict):
                children: Any = list(node.values())
            elif isinstance(node, list):
                children = node
            else:
                continue
            if target.scan_match(node, root, require):
                target.apply(path, j, node, root, out, require)
            stack.append(iter(children))


class Function(Token):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        out.append(apply_function(self.name, model))


WILDCARD = _Wildcard()
SCAN = _Scan()


class CompiledPath:
    """One parsed JSONPath expression; immutable and shareable."""

    __slots__ = ("_scan_function", "definite", "depth", "expression", "root", "tokens", "upstream_definite")

    def __init__(self, expression: str, root: str, tokens: tuple[Token, ...]) -> None:
        self.expression = expression
        self.root = root  # "$" (document) or "@" (current filter item)
        self.tokens = tokens
        flags = []
        definite = True
        for token in tokens:
            flags.append(definite)
            definite = definite and token.definite
        self.upstream_definite = tuple(flags)
        # How deeply filters nest in it: evaluation recurses once per level.
        self.depth = max((token.depth for token in tokens if isinstance(token, Filter)), default=0)
        self._scan_function: tuple[str, CompiledPath, CompiledPath] | None = None
        last = tokens[-1] if len(tokens) > 2 and tokens[0] is SCAN else None
        if isinstance(last, Function):
            # Jayway turns `$..x.fn()` into `$.fn($..x)`: the function sees all the scan's results at once.
            # `length()` then counts the children of the matches (it appends a wildcard to its parameter path).
            parameter = CompiledPath(expression, root, tokens[:-1])
            children = CompiledPath(expression, root, (*tokens[:-1], WILDCARD))
            self._scan_function = (last.name, parameter, children)
            definite = True
        self.definite = definite

    def __repr__(self) -> str:
        return f"CompiledPath({self.expression!r})"

    def evaluate(self, document: Any, missing: Any = None, root: Any = MISSING) -> Any:
        """The value of a definite path (`missing` when there is none) or the list of matches of an indefinite one
        (`missing` when the evaluation fails as a whole). `root` is what `$` means inside filters (the document
        unless this is a filter's `@` path)."""
        try:
            out = self._collect(document, document if root is MISSING else root, False)
        except NotFound:
            return missing
        if self.definite:
            return out[-1] if out else missing
        return out

    def exists(self, document: Any, root: Any) -> bool:
        """A filter's existence test (`[?(@.isbn)]`): Jayway evaluates it with REQUIRE_PROPERTIES."""
        try:
            out = self._collect(document, root, True)
        except NotFound:
            return False
        return bool(out) if self.definite else True

    def _collect(self, document: Any, root: Any, require: bool) -> list[Any]:
        out: list[Any] = []
        if self._scan_function is not None:
            name, parameter, children = self._scan_function
            if name in ("length", "size"):
                out.append(len(children._collect(document, root, require)))
            elif name in AGGREGATES:
                values = numeric_values(document) + numeric_values(parameter._collect(document, root, require))
                out.append(aggregate(name, values))
            else:
                out.append(apply_function(name, document))
            return out
        _step(self, 0, document, root, out, require)
        return out
