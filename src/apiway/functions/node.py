"""Node.js functions: the machine's `node` runs apiway's `node_bootstrap.mjs`, a Lambda Runtime API client
that loads the handler (`path/file.export`) as AWS's Node.js runtime does."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from apiway.functions.base import FunctionSpec
from apiway.functions.inline import FunctionLoadError

__all__ = ["MIN_NODE", "NODE_BOOTSTRAP", "NODE_MEMORY_MARGIN_MB", "check_node", "node_command", "node_major"]

NODE_BOOTSTRAP = Path(__file__).with_name("node_bootstrap.mjs")
MIN_NODE = 18  # the oldest Node.js Lambda still runs (nodejs18.x)
NODE_MEMORY_MARGIN_MB = 2048  # V8 reserves address space for its code range and cages far beyond its heap


class NodeUnavailable(Exception):
    pass


@functools.cache
def _node() -> tuple[str, int]:
    """The `node` on PATH and its major version (asked once per process)."""
    path = shutil.which("node")
    if path is None:
        raise NodeUnavailable("`node` is not on PATH: install Node.js 18 or later")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                                 check=True).stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        raise NodeUnavailable(f"{path} --version failed: install Node.js {MIN_NODE} or later") from None
    if major < MIN_NODE:
        raise NodeUnavailable(f"{path} is Node.js {version}: Node.js {MIN_NODE} or later is needed")
    return path, major


def check_node(spec: FunctionSpec) -> None:
    """A start-up error naming the function when no usable `node` is installed."""
    try:
        _node()
    except NodeUnavailable as exc:
        raise FunctionLoadError(f"function {spec.name} (runtime nodejs): {exc}") from None


def node_major() -> int:
    return _node()[1]


def node_command(memory_mb: int) -> tuple[str, ...]:
    """The heap is capped at the function's memory, as the V8 limit is what a Node.js function runs out of."""
    return (_node()[0], f"--max-old-space-size={memory_mb}", str(NODE_BOOTSTRAP))
