"""The `.env` files the Framework reads for `${env:…}` (v4 always, v3 with `useDotenv: true`): `.env.{stage}`
when there is one, else `.env`, beside the service file; the process's own environment wins."""

from __future__ import annotations

from pathlib import Path


def read_dotenv(folder: Path, stage: str) -> dict[str, str]:
    for name in (f".env.{stage}", ".env"):
        path = folder / name
        if path.is_file():
            try:
                return parse_dotenv(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                return {}
    return {}


def parse_dotenv(text: str) -> dict[str, str]:
    """`NAME=value` lines (`export NAME=value` too); quotes around a value removed; `#` lines and blanks skipped."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip()] = value
    return values
