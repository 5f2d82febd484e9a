"""Identifier formats AWS uses: API ids are 10 lowercase alphanumerics, resource and deployment
ids 6 (resource) or 6 (deployment) characters of the same alphabet."""

import secrets
import string
from collections.abc import Container

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int, taken: Container[str] = ()) -> str:
    """A new id of `length` characters, none of `taken` (ids unique within their API or account)."""
    while (candidate := "".join(secrets.choice(_ALPHABET) for _ in range(length))) in taken:
        pass
    return candidate


def new_api_id(taken: Container[str] = ()) -> str:
    """REST, HTTP and WebSocket APIs share one id space: `taken` holds every API's id."""
    return new_id(10, taken)


def new_resource_id() -> str:
    return new_id(6)


def new_deployment_id() -> str:
    return new_id(6)
