"""Segment-trie router with AWS REST matching rules, built once per deployment.

Literal segments beat `{param}`, which beats `{greedy+}`; a resource that lacks the request's
verb (and ANY) does not match, so the search falls through to the next candidate — AWS routes
`OPTIONS /test` to a sibling `{proxy+}` when `/test` has only POST. Fully literal paths are also
kept in a dict so the common case is one lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Node(Generic[T]):
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    var_name: str | None = None
    var_node: _Node[T] | None = None
    greedy_name: str | None = None
    greedy_node: _Node[T] | None = None
    methods: dict[str, T] | None = None


@dataclass(slots=True)
class Match(Generic[T]):
    target: T
    path_params: dict[str, str]


class Router(Generic[T]):
    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._exact: dict[str, dict[str, T]] = {}

    def add(self, resource_path: str, verb: str, target: T) -> None:
        node = self._root
        literal = True
        parts = [p for p in resource_path.split("/") if p]
        for i, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                if i != len(parts) - 1:
                    raise ValueError(f"greedy path variable must be last: {resource_path}")
                literal = False
                node.greedy_name = part[1:-2]
                if node.greedy_node is None:
                    node.greedy_node = _Node()
                node = node.greedy_node
            elif part.startswith("{") and part.endswith("}"):
                literal = False
                name = part[1:-1]
                if node.var_name not in (None, name):
                    raise ValueError(f"only one variable per level: {{{node.var_name}}} and {part}")
                node.var_name = name
                if node.var_node is None:
                    node.var_node = _Node()
                node = node.var_node
            else:
                node = node.literals.setdefault(part, _Node())
        if node.methods is None:
            node.methods = {}
        node.methods[verb] = target
        if literal:
            self._exact["/" + "/".join(parts)] = node.methods

    def match(self, path: str, verb: str) -> Match[T] | None:
        """`path` starts with '/', stage removed; one trailing slash and leading slashes ignored."""
        stripped = path.strip("/") if path.endswith("/") else path.lstrip("/")
        methods = self._exact.get("/" + stripped)
        if methods is not None:
            target = methods.get(verb) or methods.get("ANY")
            if target is not None:
                return Match(target, {})
        segments = stripped.split("/") if stripped else []
        params: dict[str, str] = {}
        target = self._search(self._root, segments, 0, verb, params, stripped)
        return None if target is None else Match(target, params)

    def _search(
        self, node: _Node[T], segs: list[str], i: int, verb: str, params: dict[str, str], whole: str
    ) -> T | None:
        if i == len(segs):
            if node.methods:
                return node.methods.get(verb) or node.methods.get("ANY")
            return None
        seg = segs[i]
        if seg:
            child = node.literals.get(seg)
            if child is not None:
                found = self._search(child, segs, i + 1, verb, params, whole)
                if found is not None:
                    return found
            if node.var_node is not None:
                found = self._search(node.var_node, segs, i + 1, verb, params, whole)
                if found is not None:
                    params[node.var_name] = seg  # type: ignore[index]
                    return found
        greedy = node.greedy_node
        if greedy is not None and greedy.methods:
            target = greedy.methods.get(verb) or greedy.methods.get("ANY")
            if target is not None:
                # The captured value is the raw rest of the path, inner '//' kept.
                offset = sum(len(s) + 1 for s in segs[:i])
                params[node.greedy_name] = whole[offset:]  # type: ignore[index]
                return target
        return None
