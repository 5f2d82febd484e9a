"""Query strings as API Gateway reads them: `&`-separated, `+` and percent-escapes decoded, a name
without `=` has the empty value, and no query at all gives None (not an empty map)."""

from __future__ import annotations

from urllib.parse import unquote_plus


def parse_query(raw: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not raw:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        single[name] = value
        if name in multi:
            multi[name].append(value)
        else:
            multi[name] = [value]
    if not single:
        return None, None
    return single, multi
