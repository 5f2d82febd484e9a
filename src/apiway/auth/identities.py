"""IAM identities that may call `AWS_IAM` methods: access keys with their secret, the principal they
belong to (an IAM user, the account root or an assumed-role session) and the identity policies
attached to it, declared in the project file's `iam:` section. Everything a request needs from an
identity (`$context.identity` fields, condition keys, the compiled policy) is derived once here.

Secrets never appear in a repr, a log line or an error message."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apiway.auth.policy import Policy, compile_document

_ARN = re.compile(r"^arn:aws:(?:iam::(\d{12}):(?:(root)|user/(?:[\w+=,.@-]+/)*([\w+=,.@-]+))"
                  r"|sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+))$")
_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")


class IdentityError(ValueError):
    """A declared identity that cannot be used; `where` is the path below the identity entry."""

    def __init__(self, where: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(slots=True)
class Identity:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    arn: str
    account_id: str
    user_id: str  # AIDA… for a user, AROA…:session for a role session (IAM's `aws:userid`)
    principal_type: str  # User | Account | AssumedRole (IAM's `aws:PrincipalType`)
    user_name: str | None  # IAM users only (`aws:username`)
    policy: Policy | None  # every attached policy's statements; None: no policy, every call implicitly denied
    session_token: str | None = field(default=None, repr=False)
    expiration: float | None = None  # epoch seconds after which the session token is expired
    # `$context.identity` fields and condition keys, built once.
    context_identity: dict[str, str] = field(default_factory=dict, repr=False)
    condition_keys: dict[str, str] = field(default_factory=dict, repr=False)


class Identities:
    """The identities of a project, by access key id."""

    def __init__(self, identities: Iterable[Identity] = ()) -> None:
        self.by_key = {i.access_key_id: i for i in identities}

    def get(self, access_key_id: str) -> Identity | None:
        return self.by_key.get(access_key_id)

    def secret_for(self, access_key_id: str) -> str | None:
        found = self.by_key.get(access_key_id)
        return found.secret_access_key if found else None


def _unique_id(prefix: str, arn: str) -> str:
    """A stable IAM-style unique id (21 characters) derived from the ARN."""
    digest = base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()
    return prefix + digest[:17]


def parse_identity(raw: Any) -> Identity:
    """One entry of `iam.identities`; IdentityError names the offending field."""
    if not isinstance(raw, Mapping):
        raise IdentityError((), "an identity is a mapping with access_key_id, secret_access_key and arn")
    unknown = set(raw) - {"access_key_id", "secret_access_key", "arn", "session_token", "expiration", "policies"}
    if unknown:
        raise IdentityError((sorted(unknown)[0],), "unknown key (expected access_key_id, secret_access_key, arn, "
                                                   "session_token, expiration or policies)")
    key_id = raw.get("access_key_id")
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        raise IdentityError(("access_key_id",), "required: 16 to 128 upper-case letters and digits, like AKIA…")
    secret = raw.get("secret_access_key")
    if not isinstance(secret, str) or not secret:
        raise IdentityError(("secret_access_key",), "required: a non-empty string")
    arn = raw.get("arn")
    m = _ARN.match(arn) if isinstance(arn, str) else None
    if m is None:
        raise IdentityError(("arn",), "required: arn:aws:iam::{account}:user/{name}, arn:aws:iam::{account}:root "
                                      "or arn:aws:sts::{account}:assumed-role/{role}/{session}")
    token = raw.get("session_token")
    if token is not None and (not isinstance(token, str) or not token):
        raise IdentityError(("session_token",), "a non-empty string")
    expiration = _expiration(raw.get("expiration"), token)
    policy = _policy(raw.get("policies"))
    account, root, user, role_account, role, session = m.groups()
    if role is not None:
        identity = Identity(key_id, secret, arn, role_account, f"{_unique_id('AROA', arn)}:{session}",
                            "AssumedRole", None, policy, token, expiration)
    elif root is not None:
        identity = Identity(key_id, secret, arn, account, account, "Account", None, policy, token, expiration)
    else:
        identity = Identity(key_id, secret, arn, account, _unique_id("AIDA", arn), "User", user, policy, token,
                            expiration)
    identity.context_identity = {"accessKey": key_id, "accountId": identity.account_id,
                                 "caller": identity.user_id, "user": identity.user_id, "userArn": arn}
    identity.condition_keys = {"aws:principalarn": arn, "aws:principalaccount": identity.account_id,
                               "aws:principaltype": identity.principal_type, "aws:userid": identity.user_id}
    if identity.user_name is not None:
        identity.condition_keys["aws:username"] = identity.user_name
    return identity


def _expiration(raw: Any, token: str | None) -> float | None:
    if raw is None:
        return None
    if token is None:
        raise IdentityError(("expiration",), "only session credentials (with a session_token) expire")
    if isinstance(raw, datetime):  # YAML reads an unquoted timestamp as a datetime
        return raw.timestamp()
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise IdentityError(("expiration",), "an ISO 8601 date-time such as 2030-01-01T00:00:00Z") from None


def _policy(raw: Any) -> Policy | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise IdentityError(("policies",), "a list of IAM policy documents")
    statements: list[Any] = []
    for i, document in enumerate(raw):
        if not isinstance(document, Mapping) or "Statement" not in document:
            raise IdentityError(("policies", i), 'a policy document: {"Version": "2012-10-17", "Statement": [...]}')
        listed = document["Statement"]
        listed = [listed] if isinstance(listed, Mapping) else listed
        if not isinstance(listed, list):
            raise IdentityError(("policies", i, "Statement"), "a statement or a list of statements")
        for j, statement in enumerate(listed):
            if isinstance(statement, Mapping) and "Principal" in statement:
                raise IdentityError(("policies", i, "Statement", j, "Principal"),
                                    "identity policies name no Principal (the identity is the principal)")
            try:
                compile_document([statement])
            except ValueError as exc:
                raise IdentityError(("policies", i, "Statement", j), str(exc)) from None
        statements += listed
    return compile_document(statements) if statements else None
