"""Plain CloudFormation API resources as OpenAPI documents (placeholder until written)."""

from __future__ import annotations

from apiway.templates.context import Context
from apiway.templates.documents import BuiltApi


def read_plain_apis(ctx: Context) -> list[BuiltApi]:
    return []
