"""The runtime's exceptions: how a Java failure surfaces (a thrown java.lang exception fails the render; no
matching overload makes the reference undefined), and the signals `#stop` and `#break` raise."""

from __future__ import annotations

from apiway.vtl.errors import TemplateRuntimeError


class NoMethod(Exception):
    """No Java method matches: the reference is undefined."""


class StopSignal(Exception):
    """`#stop`: the template ends here; what was rendered so far is the output."""


class BreakSignal(Exception):
    """`#break` outside a loop: leaves the enclosing macro, #define block or template."""


def java_error(name: str, message: str = "") -> TemplateRuntimeError:
    return TemplateRuntimeError(f"java.lang.{name}" + (f": {message}" if message else ""))
