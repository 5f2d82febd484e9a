"""IAM policy documents, evaluated as AWS does for `execute-api` calls: an explicit Deny wins, an Allow
admits, no matching statement is an implicit deny. Used for Lambda authorizer output; resource policies
and identity policies share it.

A document compiles once into regexes (`*` any run of characters, `?` exactly one; actions compare
case-insensitively, ARNs case-sensitively) and is then evaluated per request without re-parsing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

import orjson

from apiway.auth.conditions import Condition, ConditionError, PrincipalMatch, compile_condition, compile_principal
from apiway.auth.wildcards import wildcard_regex
from apiway.model.aws import ACCOUNT_ID, REGION

Decision = Literal["Allow", "Deny"] | None  # None: no statement matched (implicit deny)
INVOKE = "execute-api:Invoke"
EFFECTS = ("Allow", "Deny")  # case-sensitive, as in IAM
_ACTIONS_REMEMBERED = 16
_NO_FACTS: Mapping[str, Any] = MappingProxyType({})  # no context: an anonymous caller, no condition keys


def method_arn_prefix(api_id: str, stage_name: str) -> str:
    """`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/`; a request's method ARN appends
    `{VERB}/{path without its leading slash}`."""
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage_name}/"


class PolicyError(ValueError):
    """The document is not a valid policy."""


@dataclass(slots=True, frozen=True)
class Matcher:
    """`Action`/`NotAction` or `Resource`/`NotResource` of one statement."""

    pattern: re.Pattern[str] | None  # None: a bare `*`, matching everything
    negated: bool  # NotAction / NotResource

    def __call__(self, value: str) -> bool:
        hit = self.pattern is None or self.pattern.fullmatch(value) is not None
        return hit is not self.negated


@dataclass(slots=True, frozen=True)
class Statement:
    effect: str
    action: Matcher
    resource: Matcher
    principal: PrincipalMatch | None = None  # resource policies: the callers the statement is about
    condition: Condition | None = None

    def holds(self, context: Mapping[str, Any] | None) -> bool:
        """Principal and Condition against the request facts (condition keys, the caller's aws:Principal*)."""
        facts = _NO_FACTS if context is None else context
        return (self.principal is None or self.principal(facts)) and (self.condition is None or self.condition(facts))


class Policy:
    """A compiled document. The statements that concern an action are picked once per action (the
    gateway asks about a handful), so a decision costs one resource match per such statement."""

    __slots__ = ("_by_action", "statements")

    def __init__(self, statements: tuple[Statement, ...]) -> None:
        self.statements = statements
        self._by_action: dict[str, tuple[Statement, ...]] = {}

    def evaluate(self, action: str, resource: str, context: Mapping[str, Any] | None = None) -> Decision:
        """`context` holds the request facts (caller, source IP, …) that Principal and Condition elements
        are tested against."""
        statements = self._by_action.get(action)
        if statements is None:
            statements = tuple(s for s in self.statements if s.action(action))
            if len(self._by_action) < _ACTIONS_REMEMBERED:
                self._by_action[action] = statements
        allowed = False
        for statement in statements:
            if statement.resource(resource) and statement.holds(context):
                if statement.effect == "Deny":
                    return "Deny"
                allowed = True
        return "Allow" if allowed else None


def evaluate(policy: Policy | Mapping[str, Any] | Sequence[Any] | str, action: str, resource_arn: str,
             context: Mapping[str, Any] | None = None) -> Decision:
    """The decision of `policy` (compiled, a document, its statement list, or JSON text of either)."""
    compiled = policy if isinstance(policy, Policy) else compile_policy(policy)
    return compiled.evaluate(action, resource_arn, context)


def compile_policy(document: Mapping[str, Any] | Sequence[Any] | str) -> Policy:
    """Compile a document (or statement list, or JSON text); the same text compiles only once."""
    if isinstance(document, str):
        return _compile_text(document)
    try:
        text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        raise PolicyError("policy is not JSON") from None
    return _compile_text(text)


@lru_cache(maxsize=1024)
def _compile_text(text: str) -> Policy:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise PolicyError("policy is not JSON") from None
    return compile_document(document)


def compile_document(document: Any) -> Policy:
    """Compile a parsed document without caching (a Lambda authorizer's answer is compiled once and its
    compiled form cached with the result)."""
    if isinstance(document, Mapping):
        if "Statement" not in document:
            raise PolicyError("policy has no Statement")
        raw = document["Statement"]
    else:
        raw = document
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PolicyError("Statement must be a statement or a non-empty list of them")
    return Policy(tuple(_statement(s) for s in raw))


def _statement(raw: Any) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError("a statement must be an object")
    effect = raw.get("Effect")
    if effect not in EFFECTS:
        raise PolicyError(f"Effect must be Allow or Deny, got {effect!r}")
    return Statement(effect, _matcher(raw, "Action", re.IGNORECASE), _matcher(raw, "Resource", 0), _principal(raw),
                     _condition(raw))


def _principal(raw: Mapping[str, Any]) -> PrincipalMatch | None:
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError("a statement has Principal or NotPrincipal, not both")
    for element, negated in (("Principal", False), ("NotPrincipal", True)):
        if element in raw:
            try:
                return compile_principal(raw[element], negated)
            except ConditionError as exc:
                raise PolicyError(str(exc)) from None
    return None


def _condition(raw: Mapping[str, Any]) -> Condition | None:
    if "Condition" not in raw:
        return None
    try:
        return compile_condition(raw["Condition"])
    except ConditionError as exc:
        raise PolicyError(str(exc)) from None


def _matcher(raw: Mapping[str, Any], element: str, flags: int) -> Matcher:
    negative = "Not" + element
    if (element in raw) == (negative in raw):
        raise PolicyError(f"a statement needs exactly one of {element} and {negative}")
    negated = negative in raw
    values = raw[negative if negated else element]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{negative if negated else element} must be a string or a non-empty list of strings")
    if "*" in values:
        return Matcher(None, negated)
    return Matcher(re.compile("|".join(map(wildcard_regex, values)), flags | re.DOTALL), negated)
