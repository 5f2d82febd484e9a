"""Custom domain names: which API and stage a request to `https://{domain}/{basePath}/…` reaches.

The table is compiled once from the domains and their base path mappings and swapped in whole when
they change; a request pays one dict lookup for its Host and one per base-path depth tried, longest
first, then the `(none)` mapping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BasePathMapping:
    base_path: str  # "" for the (none) mapping, else segments without leading or trailing "/"
    api_id: str
    stage: str | None  # None: the first segment after the base path names the stage


class DomainRoutes:
    """One domain's mappings by base path."""

    __slots__ = ("depth", "name", "paths", "root")

    def __init__(self, name: str, mappings: Iterable[BasePathMapping]) -> None:
        self.name = name
        mappings = list(mappings)
        self.paths = {m.base_path: m for m in mappings if m.base_path}
        self.root = next((m for m in mappings if not m.base_path), None)
        self.depth = max((p.count("/") + 1 for p in self.paths), default=0)

    def match(self, path: str) -> tuple[BasePathMapping, str] | None:
        """The mapping for a request path and the path left after its base path ("" or "/…");
        None when no base path matches and there is no (none) mapping."""
        if self.depth:
            end = path.find("/", 1)
            ends = [len(path) if end < 0 else end]  # where the first `depth` segments end, shortest first
            while end > 0 and len(ends) < self.depth:
                end = path.find("/", end + 1)
                ends.append(len(path) if end < 0 else end)
            for end in reversed(ends):
                found = self.paths.get(path[1:end])
                if found is not None:
                    return found, path[end:]
        return (self.root, "" if path == "/" else path) if self.root is not None else None

    def mappings(self) -> list[BasePathMapping]:
        return [*self.paths.values(), *([self.root] if self.root else [])]


class DomainTable:
    """Every custom domain by lower-case name; `*.example.com` names match one more leading label."""

    __slots__ = ("_domains",)

    def __init__(self, domains: Iterable[DomainRoutes] = ()) -> None:
        self._domains = {d.name.lower(): d for d in domains}

    def __bool__(self) -> bool:
        return bool(self._domains)

    def __iter__(self) -> Iterator[DomainRoutes]:
        return iter(sorted(self._domains.values(), key=lambda d: d.name))

    def lookup(self, host: str) -> DomainRoutes | None:
        """The domain a Host header names (its port dropped, any case), if it is a custom domain."""
        name = host.partition(":")[0].lower()
        found = self._domains.get(name)
        if found is None and "." in name:
            found = self._domains.get("*." + name.partition(".")[2])
        return found
