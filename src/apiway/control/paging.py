"""`position`/`limit` pagination of list calls (AWS default page 25, at most 500)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from apiway.control.errors import bad_request

DEFAULT_LIMIT = 25
MAX_LIMIT = 500


def page(items: Sequence[Any], params: dict[str, Any]) -> dict[str, Any]:
    """One page as `{"items": [...], "position": token}`; the token is opaque to clients."""
    limit = params.get("limit") or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"Invalid limit {limit}: must be between 1 and {MAX_LIMIT}")
    start = _decode(params.get("position"))
    result: dict[str, Any] = {"items": list(items[start:start + limit])}
    if start + limit < len(items):
        result["position"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return result


def _decode(position: str | None) -> int:
    if not position:
        return 0
    try:
        return int(base64.urlsafe_b64decode(position.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Invalid position parameter") from None
