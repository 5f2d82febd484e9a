"""Placeholder: this check is not built yet."""

from apiway.runtime.guards import no_guard as build
from apiway.runtime.guards import no_guard as build_precheck

__all__ = ["build", "build_precheck"]
