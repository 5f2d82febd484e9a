"""The `Condition` and `Principal` elements of IAM policy statements, compiled once into predicates
over a request context: a mapping of lower-case condition keys (`aws:sourceip`, `aws:principalarn`,
…) to a string or a list of strings; an absent key is missing from the request.

IAM semantics: the values listed for one key are ORed, keys and operators are ANDed; a missing key
fails the test except for negated operators (`StringNotEquals`, `NotIpAddress`, …), which then pass,
`…IfExists` forms, which pass, and `Null`, which tests exactly that. `ForAnyValue:`/`ForAllValues:`
qualify multi-valued keys."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from apiway.auth.wildcards import wildcard_regex

Context = Mapping[str, Any]
Test = Callable[[str], bool]  # does one context value match any of the policy's values?


class ConditionError(ValueError):
    """A Condition or Principal element that does not compile; the message names the element."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ConditionError(f"condition values are strings, numbers or booleans, got {value!r}")


# -- value tests per operator family ----------------------------------------------------------------


def _string(values: list[str]) -> Test:
    allowed = frozenset(values)
    return allowed.__contains__


def _string_ignore_case(values: list[str]) -> Test:
    allowed = frozenset(v.lower() for v in values)
    return lambda v: v.lower() in allowed


def _string_like(values: list[str]) -> Test:
    if any(v == "*" for v in values):
        return lambda v: True
    pattern = re.compile("|".join(wildcard_regex(v) for v in values), re.DOTALL)
    return lambda v: pattern.fullmatch(v) is not None


def _arn_like(values: list[str]) -> Test:
    """Each of an ARN's six colon-separated parts is matched on its own: a wildcard does not cross a
    colon, except in the last part (the resource, which may itself contain colons)."""
    if any(v == "*" for v in values):
        return lambda v: True
    sources = []
    for value in values:
        parts = value.split(":", 5)
        if len(parts) < 6:
            continue  # not an ARN: matches nothing
        head = ":".join("".join("[^:]*" if c == "*" else "[^:]" if c == "?" else re.escape(c) for c in part)
                        for part in parts[:5])
        sources.append(f"{head}:{wildcard_regex(parts[5])}")
    if not sources:
        return lambda v: False
    pattern = re.compile("|".join(sources), re.DOTALL)
    return lambda v: pattern.fullmatch(v) is not None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _epoch(text: str) -> float | None:
    """Seconds since the epoch from a number or an ISO 8601 date-time (`2024-05-01T12:00:00Z`)."""
    number = _number(text)
    if number is not None:
        return number
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": float.__eq__, "NotEquals": float.__eq__,  # NotEquals: the negation is applied by the caller
    "LessThan": float.__lt__, "LessThanEquals": float.__le__,
    "GreaterThan": float.__gt__, "GreaterThanEquals": float.__ge__,
}


def _ordered(parse: Callable[[str], float | None], relation: str, what: str) -> Callable[[list[str]], Test]:
    compare = _COMPARE[relation]

    def build(values: list[str]) -> Test:
        bounds = []
        for value in values:
            bound = parse(value)
            if bound is None:
                raise ConditionError(f"{value!r} is not a {what}")
            bounds.append(bound)

        def test(v: str) -> bool:
            x = parse(v)
            return x is not None and any(compare(x, b) for b in bounds)

        return test

    return build


def _bool(values: list[str]) -> Test:
    for value in values:
        if value.lower() not in ("true", "false"):
            raise ConditionError(f"{value!r} is not true or false")
    allowed = frozenset(v.lower() for v in values)
    return lambda v: v.lower() in allowed


def _ip(values: list[str]) -> Test:
    networks: list[tuple[int, int, int]] = []  # (version, first, last) as integers: one comparison per network
    for value in values:
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ConditionError(f"{value!r} is not an IP address or CIDR block") from None
        networks.append((net.version, int(net.network_address), int(net.broadcast_address)))

    def test(v: str) -> bool:
        parsed = _address(v)
        if parsed is None:
            return False
        family, n = parsed
        return any(version == family and first <= n <= last for version, first, last in networks)

    return test


@lru_cache(maxsize=4096)
def _address(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer); parsed once per client address."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:  # a dual-stack socket's IPv4 client
        address = address.ipv4_mapped
    return address.version, int(address)


# operator (without IfExists) → (test builder, negated)
_OPERATORS: dict[str, tuple[Callable[[list[str]], Test], bool]] = {
    "StringEquals": (_string, False), "StringNotEquals": (_string, True),
    "StringEqualsIgnoreCase": (_string_ignore_case, False), "StringNotEqualsIgnoreCase": (_string_ignore_case, True),
    "StringLike": (_string_like, False), "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False), "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True), "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
    "IpAddress": (_ip, False), "NotIpAddress": (_ip, True),
}
for _relation in _COMPARE:
    _OPERATORS["Numeric" + _relation] = (_ordered(_number, _relation, "number"), _relation == "NotEquals")
    _OPERATORS["Date" + _relation] = (_ordered(_epoch, _relation, "date"), _relation == "NotEquals")
_BY_LOWER = {name.lower(): name for name in (*_OPERATORS, "Null")}


@dataclass(slots=True, frozen=True)
class _KeyTest:
    key: str  # lower case
    test: Test | None  # None: the Null operator
    negated: bool
    if_exists: bool
    quantifier: str | None  # "forallvalues" | "foranyvalue" | None
    null_expected: bool = False  # Null: true when the key must be absent

    def __call__(self, context: Context) -> bool:
        value = context.get(self.key)
        if self.test is None:
            return (value is None) is self.null_expected
        if value is None or value == []:
            return self.if_exists or self.negated or self.quantifier == "forallvalues"
        values = value if isinstance(value, list) else (value,)
        test, negated = self.test, self.negated
        if self.quantifier == "forallvalues":
            return all(test(v) is not negated for v in values)
        return any(test(v) is not negated for v in values)


@dataclass(slots=True, frozen=True)
class Condition:
    """A compiled `Condition` element: true when every key test passes."""

    tests: tuple[_KeyTest, ...]
    keys: frozenset[str]  # the condition keys it reads, lower case

    def __call__(self, context: Context) -> bool:
        return all(test(context) for test in self.tests)


def compile_condition(block: Any) -> Condition:
    if not isinstance(block, Mapping) or not block:
        raise ConditionError("Condition must be an object of operators")
    tests = []
    for raw_operator, entries in block.items():
        where = f"Condition.{raw_operator}"
        quantifier, _, name = str(raw_operator).rpartition(":")
        quantifier = quantifier.lower() or None
        if quantifier not in (None, "forallvalues", "foranyvalue"):
            raise ConditionError(f"{where}: unknown qualifier {quantifier!r} (ForAnyValue or ForAllValues)")
        if_exists = name.lower().endswith("ifexists") and name.lower() != "ifexists"
        base = _BY_LOWER.get(name.lower()[:-8] if if_exists else name.lower())
        if base is None or (base == "Null" and if_exists):
            raise ConditionError(f"{where}: unsupported condition operator")
        if not isinstance(entries, Mapping) or not entries:
            raise ConditionError(f"{where}: must map condition keys to values")
        for key, raw_values in entries.items():
            values = raw_values if isinstance(raw_values, list) else [raw_values]
            try:
                texts = [_text(v) for v in values]
                if not texts:
                    raise ConditionError("a condition key needs at least one value")
                if base == "Null":
                    null_expected = _bool(texts)("true")
                    tests.append(_KeyTest(str(key).lower(), None, False, False, None, null_expected))
                    continue
                build, negated = _OPERATORS[base]
                tests.append(_KeyTest(str(key).lower(), build(texts), negated, if_exists, quantifier))
            except ConditionError as exc:
                raise ConditionError(f"{where}.{key}: {exc}") from None
    return Condition(tuple(tests), frozenset(t.key for t in tests))


# -- Principal ----------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class PrincipalMatch:
    """A compiled `Principal` (or `NotPrincipal`): whom a resource-policy statement is about. The caller
    is read from the context (`aws:principalarn`, `aws:principalaccount`); an anonymous caller has
    neither and only matches `*`."""

    everyone: bool
    accounts: frozenset[str]  # "123456789012" or "arn:aws:iam::123456789012:root"
    arns: frozenset[str]  # users, roles (which also match their sessions) and session ARNs
    negated: bool

    def __call__(self, context: Context) -> bool:
        return self._matches(context) is not self.negated

    def _matches(self, context: Context) -> bool:
        if self.everyone:
            return True
        arn = context.get("aws:principalarn")
        if arn is None:
            return False
        if context.get("aws:principalaccount") in self.accounts or arn in self.arns:
            return True
        role = _role_of_session(arn)
        return role is not None and role in self.arns


def _role_of_session(arn: str) -> str | None:
    """`arn:aws:sts::123:assumed-role/Name/session` → `arn:aws:iam::123:role/Name`."""
    head, _, resource = arn.partition(":assumed-role/")
    if not resource or not head.startswith("arn:aws:sts::"):
        return None
    return f"arn:aws:iam::{head[len('arn:aws:sts::'):]}:role/{resource.split('/', 1)[0]}"


_ACCOUNT = re.compile(r"^(\d{12})$|^arn:aws:iam::(\d{12}):root$")


def compile_principal(value: Any, negated: bool = False) -> PrincipalMatch:
    if value == "*":
        return PrincipalMatch(True, frozenset(), frozenset(), negated)
    if not isinstance(value, Mapping) or not value:
        raise ConditionError('Principal must be "*" or an object such as {"AWS": [...]}')
    accounts: set[str] = set()
    arns: set[str] = set()
    everyone = False
    for kind, raw in value.items():
        entries = raw if isinstance(raw, list) else [raw]
        if not entries or not all(isinstance(e, str) for e in entries):
            raise ConditionError(f"Principal.{kind}: a string or a list of strings")
        if kind != "AWS":
            continue  # services and federated users never call an API directly
        for entry in entries:
            m = _ACCOUNT.match(entry)
            if entry == "*":
                everyone = True
            elif m:
                accounts.add(m.group(1) or m.group(2))
            elif entry.startswith("arn:"):
                arns.add(entry)
            else:
                raise ConditionError(f"Principal.AWS: {entry!r} is not an account id or an ARN")
    return PrincipalMatch(everyone, frozenset(accounts), frozenset(arns), negated)
