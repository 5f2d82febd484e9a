"""What the apigatewayv2 handlers share: records (stored in their camelCase wire shape, model/http.py)
turned into the operation's output members, `MaxResults`/`NextToken` paging, and the input
checks every resource makes (enums, numeric ranges) in AWS's wording."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from apiway.control.errors import ControlError, bad_request, conflict

DEFAULT_PAGE = 100  # the model's MaxResults shape allows 1-100 (AWS's default page size is not documented)
MAX_PAGE = 100


def view(record: Mapping[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    """A record in wire form as AWS sends it (a list call's items): internal `_` fields and `drop` left out."""
    skipped = set(drop)
    return {key: value for key, value in record.items() if key not in skipped and not key.startswith("_")}


def members(record: Mapping[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    """A record as an operation's output: each top-level wire name (`apiId`) as its member name (`ApiId`);
    nested values stay in wire form, which is how the protocol serialises them."""
    return {key[:1].upper() + key[1:]: value for key, value in view(record, drop).items()}


def wire(params: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The given input members that are present, under their wire names (`IntegrationUri` → `integrationUri`)."""
    return {name[:1].lower() + name[1:]: params[name] for name in names if params.get(name) is not None}


def page(items: Sequence[Any], p: Mapping[str, Any]) -> dict[str, Any]:
    """One page of a Get* list call: `{"Items": [...], "NextToken": token}` (no token on the last page)."""
    raw = p.get("MaxResults")
    try:
        limit = DEFAULT_PAGE if raw is None else int(raw)
    except ValueError:
        raise bad_request(f"Invalid maxResults: {raw}") from None
    if not 1 <= limit <= MAX_PAGE:
        raise bad_request(f"maxResults must be between 1 and {MAX_PAGE}")
    start = _position(p.get("NextToken"))
    result: dict[str, Any] = {"Items": list(items[start:start + limit])}
    if start + limit < len(items):
        result["NextToken"] = base64.urlsafe_b64encode(f"v2:{start + limit}".encode()).decode()
    return result


def _position(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "v2" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise bad_request("Invalid nextToken")


def listed(records: Iterable[Mapping[str, Any]], order: Callable[[Any], Any], p: Mapping[str, Any]) -> dict[str, Any]:
    """A Get* list call's page of an API's routes, integrations, … in wire form, in the order AWS lists them."""
    return page([view(record) for record in sorted(records, key=order)], p)


def check_limit(count: int, maximum: int, what: str) -> None:
    """AWS's LimitExceededException once an API has `maximum` stages, integrations, … (`what`, plural)."""
    if count >= maximum:
        raise ControlError("LimitExceededException", f"Maximum number of {what} for this API has been reached.  "
                                                     f"Please contact AWS if you need additional {what}.")


def check_unused(what: str, route_ids: Iterable[str]) -> None:
    """AWS's ConflictException for deleting an integration or authorizer that routes still use."""
    users = sorted(route_ids)
    if users:
        raise conflict(f"Cannot delete {what} because it is referenced by the following Routes with Ids: "
                       f"[{', '.join(users)}]")


def enum(value: Any, allowed: Sequence[str], where: str) -> str:
    """An enum member, or AWS's input-validation wording of the value it refused."""
    if value not in allowed:
        raise bad_request(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
                          f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)


def in_range(value: Any, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Invalid value for {where}: {value}")
    if not low <= value <= high:
        raise bad_request(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
                          f"Member must have value {'greater' if value < low else 'less'} than or equal to "
                          f"{low if value < low else high}")
    return value


def length(value: Any, low: int, high: int, where: str) -> str:
    """A string member within the model's length bounds."""
    text = str(value)
    if not low <= len(text) <= high:
        bound = f"greater than or equal to {low}" if len(text) < low else f"less than or equal to {high}"
        raise bad_request(f"1 validation error detected: Value '{text}' at '{where}' failed to satisfy constraint: "
                          f"Member must have length {bound}")
    return text
