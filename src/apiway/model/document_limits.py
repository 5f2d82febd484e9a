"""Bounds on what an untrusted JSON or YAML document may grow into once loaded: how deeply it nests, and
how much YAML aliases may add by repeating anchored nodes (a few hundred bytes of nested aliases
otherwise stand for billions of nodes, and walking them exhausts memory or crashes the process)."""

from __future__ import annotations

from typing import Any

import yaml

# Deeper than any real OpenAPI document, and shallow enough that every recursive walk over a loaded
# document (the importer, the exporter, orjson's 255-level encoder) finishes within Python's stack.
MAX_DEPTH = 128
# Aliases may add this many nodes beyond the nodes written out before them: generous for anchors
# reused as intended, while an expansion that doubles the document at every level soon exceeds it.
ALIAS_ALLOWANCE = 10_000


class DocumentTooLarge(ValueError):
    """Nesting or alias expansion past the bounds; `line` (1-based) is where it was found, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting nodes as it composes them: those written out and those an alias
    brings in again (an anchored node counts as many nodes as it stands for, aliases inside included)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._written = 0
        self._aliased = 0
        self._sizes: dict[int, int] = {}  # id(node) → nodes it stands for, once composed

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                size = self._sizes.get(id(node))
                if size is None:  # still being composed: the alias would make the document contain itself
                    raise DocumentTooLarge("an alias refers to a node that contains it",
                                           event.start_mark.line + 1)
                self._aliased += size
                if self._aliased > self._written + ALIAS_ALLOWANCE:
                    raise DocumentTooLarge("aliases expand to too many nodes", event.start_mark.line + 1)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise DocumentTooLarge(f"nested more than {MAX_DEPTH} levels deep", event.start_mark.line + 1)
        before = self._written + self._aliased
        self._written += 1
        node = super().compose_node(parent, index)
        self._depth -= 1
        if getattr(event, "anchor", None) is not None:  # only an anchored node can be repeated
            self._sizes[id(node)] = self._written + self._aliased - before
        return node


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise DocumentTooLarge when lists and objects in `value` nest more than `limit` levels deep.
    Iterative, so that the check itself cannot exhaust the stack."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    pop, push = pending.pop, pending.append
    while pending:
        item, depth = pop()
        if depth > limit:
            raise DocumentTooLarge(f"nested more than {limit} levels deep")
        if type(item) is dict:
            for child in item.values():
                if type(child) is dict or type(child) is list:
                    push((child, depth + 1))
        elif type(item) is list:
            for child in item:
                if type(child) is dict or type(child) is list:
                    push((child, depth + 1))
