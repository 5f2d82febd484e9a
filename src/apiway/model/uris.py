"""Integration URIs as AWS writes them: stage-variable references and Lambda invocation ARNs."""

from __future__ import annotations

import re

_STAGE_VAR = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
AWS_URI = re.compile(r"^arn:aws:apigateway:([^:]*):([^:]+):(path|action)/(.+)$")
_LAMBDA_PATH = re.compile(r"^2015-03-31/functions/(.+)/invocations$")


def substitute_stage_variables(text: str, variables: dict[str, str]) -> str:
    return _STAGE_VAR.sub(lambda m: variables.get(m.group(1), ""), text)


def function_of(uri: str) -> str | None:
    """The function an HTTP API names: by its invocation URI or by its own ARN,
    `arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]` (the qualifier dropped); else None."""
    name = lambda_function_name(uri)
    if name is not None:
        return name
    parts = uri.split(":")
    if len(parts) in (7, 8) and parts[:3] == ["arn", "aws", "lambda"] and parts[5] == "function" and parts[6]:
        return parts[6]
    return None


def lambda_function_name(uri: str) -> str | None:
    """Function name from a Lambda invocation URI (alias/version qualifier dropped), else None."""
    m = AWS_URI.match(uri)
    if not m or m.group(2) != "lambda" or m.group(3) != "path":
        return None
    fm = _LAMBDA_PATH.match(m.group(4))
    if not fm:
        return None
    arn = fm.group(1)
    if arn.startswith("arn:"):
        parts = arn.split(":")
        return parts[6] if len(parts) >= 7 and parts[5] == "function" else None
    return arn.split(":")[0]
