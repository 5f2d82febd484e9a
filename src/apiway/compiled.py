"""The compiled hot path: which modules mypyc turns into C extensions, whether the ones built are current, and
the build itself (`build`, which `make` runs before anything else).

The extensions sit beside their sources (`gateway.cpython-311-….so` next to `gateway.py`), where Python's import
prefers them. They are used only while they match their sources: the build writes a manifest of each source's
size and modification time, and `guard()` (run by `import apiway`, a few `stat` calls) sends imports of these
modules to the sources instead when a source changed since, the manifest is missing, or `APIWAY_PURE=1` is set —
compiled modules call each other directly in C, so it is all of them or none. Without a C compiler, or without
mypyc (the `test` extra), nothing is built and everything runs as pure Python, as it always can."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# Code every request runs (MOCK, HTTP and Lambda proxies). Compiled, a MOCK request takes a fifth fewer instructions,
# a proxied one an eighth (docs/performance.md). Left out for now: integrations/http.py (its extension crashes when
# a stage is compiled), core/router.py (a generic class mypyc cannot build), core/http.py (an async generator), and
# core/invocation.py and the telemetry observers, whose unit tests hand them stand-in objects.
MODULES = (
    "apiway.front.native",
    "apiway.runtime.gateway",
    "apiway.runtime.apis",
    "apiway.runtime.invoke_url",
    "apiway.core.request_ids",
    "apiway.checks.throttling",
    "apiway.integrations.mock",
    "apiway.mapping.request_template",
    "apiway.mapping.integration_response",
    "apiway.mapping.response_headers",
    "apiway.front.dispatch",
    "apiway.runtime.observers",
    "apiway.events.rest_v1",
    "apiway.integrations.lambda_proxy",
    "apiway.integrations.upstream",
    "apiway.functions.inline",
)
# Plain strings and os.path, not pathlib: every process that imports apiway runs `guard`, functions' runtimes too.
PACKAGE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(PACKAGE, "compiled.txt")  # "<module> <source size> <source mtime ns>" per line
PURE_ENV = "APIWAY_PURE"

_state = "pure"  # "compiled", "pure" (nothing built) or "stale" (built from other sources): for start-up output


def source(module: str) -> str:
    return os.path.join(PACKAGE, *module.split(".")[1:]) + ".py"


def _stamp(module: str) -> str:
    st = os.stat(source(module))
    return f"{module} {st.st_size} {st.st_mtime_ns}"


def current(manifest: str = MANIFEST) -> bool:
    """Whether the manifest names exactly the sources as they are now."""
    try:
        with open(manifest) as f:
            recorded = f.read().splitlines()
        return recorded == [_stamp(module) for module in MODULES]
    except OSError:
        return False


class _Sources:
    """Imports MODULES from their `.py` files, whatever extension lies beside them (a finder of `sys.meta_path`;
    not derived from importlib.abc's, whose import costs every process about 15 ms)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source(fullname))


def guard() -> None:
    """Called once, by `import apiway`, before any of MODULES is imported."""
    global _state
    if os.environ.get(PURE_ENV):
        _state = "pure"
    elif current():
        _state = "compiled"
        return
    else:
        _state = "stale" if os.path.exists(MANIFEST) else "pure"
    sys.meta_path.insert(0, _Sources())


def state() -> str:
    """For start-up output: how the hot path runs in this process."""
    return {"compiled": f"compiled ({len(MODULES)} modules)",
            "stale": "pure Python: the compiled modules are older than their sources (`make compiled` rebuilds them)",
            "pure": "pure Python"}[_state]


def build(strict: bool) -> int:
    """Compile MODULES in place when they are not current; 0 when they are now, or (not `strict`) when the build
    was not possible and pure Python will run."""
    import subprocess
    from pathlib import Path

    package = Path(PACKAGE)
    root = package.parent.parent
    if not (root / "pyproject.toml").is_file() or package.parent.name != "src":
        print(f"the hot path is compiled in a checkout of apiway only, not in {package}: pure Python runs",
              file=sys.stderr)
        return 1 if strict else 0

    # apiway has no C extensions but these: any beside its sources, and mypyc's shared library of them in src/,
    # is a build's.
    def built() -> list[Path]:
        return [*package.rglob("*.so"), *package.parent.glob("*__mypyc.*.so")]

    if current() and len(built()) > len(MODULES):
        print(f"compiled hot path up to date ({len(MODULES)} modules)")
        return 0
    stamps = [_stamp(module) for module in MODULES]  # before compiling: an edit meanwhile leaves it stale
    Path(MANIFEST).unlink(missing_ok=True)
    for path in built():
        path.unlink()
    print(f"compiling the hot path with mypyc ({len(MODULES)} modules, about half a minute)…", flush=True)
    done = subprocess.run([sys.executable, "-m", "mypyc", *(os.path.relpath(source(m), root) for m in MODULES)],
                          cwd=root, capture_output=True, text=True)
    if done.returncode != 0 or len(built()) <= len(MODULES):
        for path in built():
            path.unlink()
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        print(f"warning: the hot path was not compiled; apiway runs as pure Python (slower).\n{tail}",
              file=sys.stderr)
        return 1 if strict else 0
    Path(MANIFEST).write_text("\n".join(stamps) + "\n")
    print(f"compiled {len(MODULES)} modules")
    return 0

