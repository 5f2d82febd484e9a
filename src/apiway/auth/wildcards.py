"""IAM's wildcard patterns (`*`, `?`), shared by Action/Resource matching and string conditions."""

import re


def wildcard_regex(pattern: str) -> str:
    """Regex source for an IAM wildcard pattern: `*` any run of characters (also `/` and `:`), `?` one."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
