"""Placeholder: this check is not built yet."""

from apiway.runtime.guards import no_guard as build

__all__ = ["build"]
