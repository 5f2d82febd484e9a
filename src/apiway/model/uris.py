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
    `arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]`, as `name[:qualifier]`; else None."""
    name = lambda_function_name(uri)
    if name is not None:
        return name
    parts = uri.split(":")
    if len(parts) in (7, 8) and parts[:3] == ["arn", "aws", "lambda"] and parts[5] == "function" and parts[6]:
        return ":".join(parts[6:8])
    return None


def lambda_function_name(uri: str) -> str | None:
    """The function a Lambda invocation URI names, as `name[:qualifier]` (the alias or version is resolved when
    the function is called), else None."""
    m = AWS_URI.match(uri)
    if not m or m.group(2) != "lambda" or m.group(3) != "path":
        return None
    fm = _LAMBDA_PATH.match(m.group(4))
    if not fm:
        return None
    parts = fm.group(1).split(":")
    if parts[0] == "arn":  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        return ":".join(parts[6:8]) if len(parts) >= 7 and parts[5] == "function" and parts[6] else None
    if len(parts) >= 3 and parts[1] == "function":  # ACCOUNT:function:NAME[:QUALIFIER]
        return ":".join(parts[2:4])
    return ":".join(parts[:2])
