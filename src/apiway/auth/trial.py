"""What an authorizer decided: a Lambda authorizer's valid answer as cached, and what one test run of an
authorizer (TestInvokeAuthorizer) saw step by step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apiway.auth.policy import Policy


@dataclass(slots=True, frozen=True)
class AuthorizerResult:
    """A function's valid answer, as cached."""

    policy: Policy
    context: dict[str, Any]  # `context` values plus principalId: `$context.authorizer.*`
    usage_identifier_key: str | None


@dataclass(slots=True)
class Trial:
    """What one test run of an authorizer saw and decided, noted step by step as it ran."""

    status: int = 200  # what the client would have received: 200 for any valid answer, whatever its policy says
    identity: str | dict[str, Any] | None = None  # the token, or each identity source's value
    function: str | None = None  # a Lambda authorizer's function
    event: dict[str, Any] | None = None  # what the function was sent
    payload: bytes | None = None  # what it answered, before parsing
    result: AuthorizerResult | None = None  # its answer, valid
    claims: dict[str, str] | None = None  # a Cognito authorizer's verified token
    failure: str | None = None  # why it failed, in execution-log words
