"""HTTP API authorizers (auth/http_authorizers.py, spec §8.6) run as the gateway runs them: guards built from
an HTTP API definition, called with Invocations on a real `StageRuntime(kind="HTTP")`.

JWT authorizers fetch their keys from a real OpenID Connect issuer on a local socket (discovery document and
JWKS, keys made with `cryptography`); Lambda authorizers are Python functions in files, run by the project's
function runner; AWS_IAM requests are signed with botocore's own SigV4 signer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa

from apiway.auth import http_lambda_authorizer, oidc
from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.http_authorizers import HttpAuthorizerDeps, build
from apiway.auth.identities import Identities, parse_identity
from apiway.auth.jwt_authorizer import BearerError, claim_text
from apiway.core.clock import ManualClock
from apiway.core.errors import DeployError, GatewayError
from apiway.core.invocation import Invocation
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import Functions
from apiway.model.http import Authorizer, HttpApiDefinition, Route
from apiway.model.uris import function_of
from tests.e2e.authorizer_support import OidcProvider
from tests.http_apis import route_invocation

API = "a1b2c3d4e5"
AUDIENCE = "api-client"
ROUTE_ARN = f"arn:aws:execute-api:us-east-1:123456789012:{API}"


def invocation(method: str = "GET", path: str = "/pets", *, route_key: str = "GET /pets", stage: str = "$default",
               headers: list[tuple[str, str]] | None = None, query: str = "",
               variables: dict[str, str] | None = None, clock: ManualClock | None = None) -> Invocation:
    """The Invocation of `method path` (the path after the stage) on an HTTP API stage."""
    sent = path if stage == "$default" else f"/{stage}{path}"
    host = f"{API}.execute-api.us-east-1.amazonaws.com"
    return route_invocation(method, sent, query=query, headers=[("Host", host), *(headers or [])], api_id=API,
                            stage=stage, route_key=route_key, variables=variables,
                            wall_ms=clock.wall_ms if clock is not None else None)


def definition(authorizer: Authorizer | None = None) -> HttpApiDefinition:
    return {
        "api": {"apiId": API, "name": "pets", "protocolType": "HTTP",
                "routeSelectionExpression": "${request.method} ${request.path}",
                "apiEndpoint": f"https://{API}.execute-api.us-east-1.amazonaws.com",
                "createdDate": "2024-01-01T00:00:00Z"},
        "routes": {}, "integrations": {},
        "authorizers": {authorizer["authorizerId"]: authorizer} if authorizer else {},
    }


def route(kind: str, authorizer_id: str | None = None, scopes: list[str] | None = None,
          route_key: str = "GET /pets") -> Route:
    found: Route = {"routeId": "rt0001", "routeKey": route_key, "authorizationType": kind}
    if authorizer_id:
        found["authorizerId"] = authorizer_id
    if scopes:
        found["authorizationScopes"] = scopes
    return found


def run(guard: Any, inv: Invocation) -> bool:
    """Run a guard as the gateway does; True when it had to wait (returned an awaitable)."""
    pending = guard(inv)
    if pending is None:
        return False
    asyncio.run(pending)
    return True


def refused(guard: Any, inv: Invocation) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        run(guard, inv)
    return caught.value


# ---- JWT ------------------------------------------------------------------------------------------------------


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    found = OidcProvider()
    yield found
    found.stop()


@pytest.fixture
def clock() -> ManualClock:
    # Wall time starts a little after the real now, so that tokens issued during a test are already valid.
    return ManualClock(now=1000.0, epoch=time.time() + 2 - 1000.0)


def jwt_authorizer(issuer: str, audience: list[str] | None = None,
                   source: str = "$request.header.Authorization") -> Authorizer:
    return {"authorizerId": "jw1234", "name": "oidc", "authorizerType": "JWT", "identitySource": [source],
            "jwtConfiguration": {"issuer": issuer, "audience": audience or [AUDIENCE]}}


def jwt_guard(provider: OidcProvider, clock: ManualClock, scopes: list[str] | None = None, **config: Any) -> Any:
    deps = HttpAuthorizerDeps(_NoFunctions(), AuthorizerCache(clock=clock))
    return build(definition(jwt_authorizer(provider.issuer, **config)), route("JWT", "jw1234", scopes), "$default",
                 deps)


class _NoFunctions:
    def has(self, name: str) -> bool:
        return False

    async def invoke(self, name: str, event: Any, request_id: str) -> Any:
        raise AssertionError("no function here")


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def challenge(err: GatewayError) -> str:
    assert isinstance(err, BearerError)
    (name, value), = err.headers
    assert name == "www-authenticate"
    return value


def test_a_valid_token_passes_its_claims_as_strings(provider: OidcProvider, clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    token = provider.token(email_verified=True, groups=["admin", "users"], level=3, ratio=0.5,
                           address={"country": "NZ", "zip": 6011})
    inv = invocation(headers=bearer(token))
    assert run(guard, inv) is True  # the first token makes the issuer's keys be fetched
    claims = jwt.decode(token, options={"verify_signature": False})
    assert inv.authorizer == {"jwt": {"claims": {
        "iss": provider.issuer, "sub": "user-1", "aud": AUDIENCE, "iat": str(claims["iat"]),
        "exp": str(claims["exp"]), "email_verified": "true", "groups": "[admin users]", "level": "3",
        "ratio": "0.5", "address": "map[country:NZ zip:6011]"}, "scopes": None}}
    assert provider.fetches == {"discovery": 1, "keys": 1}


def test_known_keys_decide_at_once_and_are_fetched_once(provider: OidcProvider, clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    run(guard, invocation(headers=bearer(provider.token())))
    for n in range(3):
        inv = invocation(headers=bearer(provider.token(sub=f"user-{n}")))
        assert run(guard, inv) is False  # no waiting: the key is known
        assert inv.authorizer is not None and inv.authorizer["jwt"]["claims"]["sub"] == f"user-{n}"
    assert provider.fetches == {"discovery": 1, "keys": 1}


def test_keys_are_fetched_off_the_event_loop_once_for_concurrent_requests(provider: OidcProvider,
                                                                          clock: ManualClock) -> None:
    provider.delay = 0.2  # each of the two documents
    guard = jwt_guard(provider, clock)
    invs = [invocation(headers=bearer(provider.token(sub=f"user-{n}"))) for n in range(5)]

    async def main() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await asyncio.gather(*(guard(inv) for inv in invs))
        ticker.cancel()
        return ticks

    assert asyncio.run(main()) >= 20  # the loop kept running through the 0.4 s of fetching
    assert [inv.authorizer["jwt"]["claims"]["sub"] for inv in invs if inv.authorizer] == \
        [f"user-{n}" for n in range(5)]
    assert provider.fetches == {"discovery": 1, "keys": 1}


def test_the_token_may_come_without_bearer_or_from_the_query_string(provider: OidcProvider,
                                                                    clock: ManualClock) -> None:
    token = provider.token()
    run(jwt_guard(provider, clock), invocation(headers=[("authorization", token)]))
    guard = jwt_guard(provider, clock, source="$request.querystring.access_token")
    inv = invocation(query=f"access_token={token}")
    run(guard, inv)
    assert inv.authorizer is not None and inv.authorizer["jwt"]["claims"]["sub"] == "user-1"


def test_a_request_without_a_token_is_401(provider: OidcProvider, clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    for headers in ([], [("Authorization", "")], [("Authorization", "Bearer ")]):
        err = refused(guard, invocation(headers=headers))
        assert err.response_type == "UNAUTHORIZED" and not isinstance(err, BearerError)
    assert provider.fetches == {"discovery": 0, "keys": 0}


# exp, nbf and iat are seconds from the test clock's now, resolved when the test runs: values taken at
# collection would be minutes stale by the time a long run gets here.
@pytest.mark.parametrize(("claims", "description"), [
    ({"exp": -5}, "the token has expired"),
    ({"nbf": 120}, "the token is not valid yet"),
    ({"iat": 120}, "the token is not valid yet"),
    ({"aud": "someone-else"}, "the token does not have a valid audience"),
    ({"aud": ["x", "y"]}, "the token does not have a valid audience"),
    ({"aud": "someone-else", "client_id": AUDIENCE}, "the token does not have a valid audience"),
    ({"iss": "https://issuer.example.com"}, "the token does not have a valid issuer"),
    ({"exp": "tomorrow"}, "the token's exp claim is not a number"),
])
def test_invalid_claims_are_401_with_a_bearer_challenge(provider: OidcProvider, clock: ManualClock,
                                                        claims: dict[str, Any], description: str) -> None:
    now = int(clock.time())
    claims = {k: now + v if k in ("exp", "nbf", "iat") and isinstance(v, int) else v for k, v in claims.items()}
    err = refused(jwt_guard(provider, clock), invocation(headers=bearer(provider.token(**claims))))
    assert err.response_type == "UNAUTHORIZED"
    assert challenge(err) == f'Bearer scope="" error="invalid_token" error_description="{description}"'


def test_client_id_stands_for_a_missing_aud(provider: OidcProvider, clock: ManualClock) -> None:
    inv = invocation(headers=bearer(provider.token(aud=None, client_id=AUDIENCE)))
    run(jwt_guard(provider, clock), inv)
    assert inv.authorizer is not None and inv.authorizer["jwt"]["claims"]["client_id"] == AUDIENCE
    inv = invocation(headers=bearer(provider.token(aud=["other", "second-client"])))
    run(jwt_guard(provider, clock, audience=["first-client", "second-client"]), inv)
    assert inv.authorizer is not None


def test_a_remembered_token_still_expires(provider: OidcProvider, clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    token = provider.token(exp=int(clock.time()) + 60)
    run(guard, invocation(headers=bearer(token)))
    clock.advance(59)
    run(guard, invocation(headers=bearer(token)))
    clock.advance(1)
    err = refused(guard, invocation(headers=bearer(token)))
    assert 'error_description="the token has expired"' in challenge(err)


@pytest.mark.parametrize(("token", "description"), [
    ("not-a-jwt", "the token is not a valid JWT"),
    ("abc.def.ghi", "the token is not a valid JWT"),
])
def test_malformed_tokens_are_401(provider: OidcProvider, clock: ManualClock, token: str, description: str) -> None:
    err = refused(jwt_guard(provider, clock), invocation(headers=bearer(token)))
    assert f'error_description="{description}"' in challenge(err)


def test_only_rsa_signatures_by_the_issuers_keys_pass(provider: OidcProvider, clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    hmac_token = provider.token(key="shared-secret-of-at-least-32-bytes!", algorithm="HS256")
    assert 'error_description="signing method HS256 is invalid"' in challenge(refused(guard, invocation(
        headers=bearer(hmac_token))))
    unsigned = jwt.encode({"iss": provider.issuer, "aud": AUDIENCE}, None, algorithm="none", headers={"kid": "k1"})
    assert "signing method none is invalid" in challenge(refused(guard, invocation(headers=bearer(unsigned))))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = provider.token(key=stranger)  # claims the issuer's key id, signed by another key
    assert "the token's signature is invalid" in challenge(refused(guard, invocation(headers=bearer(forged))))
    tampered = provider.token().rsplit(".", 1)[0] + "." + provider.token(sub="admin").rsplit(".", 1)[1]
    assert "the token's signature is invalid" in challenge(refused(guard, invocation(headers=bearer(tampered))))
    no_kid = jwt.encode({"iss": provider.issuer, "aud": AUDIENCE}, provider.keys["k1"], algorithm="RS256")
    assert "the token has no key id" in challenge(refused(guard, invocation(headers=bearer(no_kid))))
    inv = invocation(headers=bearer(provider.token(algorithm="RS512")))
    run(guard, inv)
    assert inv.authorizer is not None


def test_unknown_key_ids_refresh_the_key_set_at_most_every_30_seconds(provider: OidcProvider,
                                                                       clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    run(guard, invocation(headers=bearer(provider.token())))
    assert provider.fetches == {"discovery": 1, "keys": 1}
    provider.rotate("k2")
    rotated = provider.token(kid="k2")
    clock.advance(10)
    err = refused(guard, invocation(headers=bearer(rotated)))  # too soon to fetch again
    assert "the token's key id does not match a key of the issuer" in challenge(err)
    assert provider.fetches == {"discovery": 1, "keys": 1}
    clock.advance(20)
    inv = invocation(headers=bearer(rotated))
    run(guard, inv)  # the refresh finds the new key
    assert inv.authorizer is not None and provider.fetches == {"discovery": 2, "keys": 2}
    made_up = provider.token(kid="nobody")
    refused(guard, invocation(headers=bearer(made_up)))
    refused(guard, invocation(headers=bearer(made_up)))
    assert provider.fetches == {"discovery": 2, "keys": 2}


def test_a_withdrawn_key_no_longer_verifies_once_the_set_is_refreshed(provider: OidcProvider,
                                                                       clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    old = provider.token()
    run(guard, invocation(headers=bearer(old)))
    provider.rotate("k2", keep=False)
    clock.advance(30)
    run(guard, invocation(headers=bearer(provider.token(kid="k2"))))  # refreshes the set: k1 is gone
    err = refused(guard, invocation(headers=bearer(old)))
    assert "the token's key id does not match a key of the issuer" in challenge(err)


def test_keys_of_other_kinds_are_skipped(provider: OidcProvider, clock: ManualClock) -> None:
    provider.served_keys = [{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": "AA", "y": "AA"},
                            {**provider.jwk("k1"), "kid": "enc1", "use": "enc"}, {"kty": "RSA", "kid": "broken"}]
    guard = jwt_guard(provider, clock)
    run(guard, invocation(headers=bearer(provider.token())))
    for kid in ("ec1", "enc1", "broken"):
        token = provider.token(kid=kid, key=provider.keys["k1"])
        assert "does not match a key" in challenge(refused(guard, invocation(headers=bearer(token))))


def test_an_unreachable_issuer_is_401(provider: OidcProvider,
                                                                         clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock)
    token = provider.token()
    provider.stop()
    err = refused(guard, invocation(headers=bearer(token)))
    assert "unable to retrieve the issuer's signing keys" in challenge(err)
    assert err.log is not None and "cannot fetch" in err.log and provider.issuer in err.log


def test_an_issuer_back_after_a_failure_is_fetched_again(clock: ManualClock) -> None:
    provider = OidcProvider()
    try:
        guard = jwt_guard(provider, clock)
        provider.served_keys, keys = [], provider.keys
        provider.keys = {}  # a key set without usable keys
        err = refused(guard, invocation(headers=bearer(provider.token(key=keys["k1"]))))
        assert err.log is not None and "has no RSA signing key" in err.log
        provider.keys = keys
        err = refused(guard, invocation(headers=bearer(provider.token())))  # within a second: not fetched again
        assert provider.fetches["keys"] == 1 and "unable to retrieve" in challenge(err)
        clock.advance(1)
        inv = invocation(headers=bearer(provider.token()))
        run(guard, inv)
        assert inv.authorizer is not None and provider.fetches["keys"] == 2
    finally:
        provider.stop()


def test_route_scopes_need_one_of_them_in_scope_or_scp(provider: OidcProvider, clock: ManualClock) -> None:
    guard = jwt_guard(provider, clock, scopes=["pets:read", "pets:admin"])
    err = refused(guard, invocation(headers=bearer(provider.token(scope="openid profile"))))
    assert err.response_type == "ACCESS_DENIED"
    assert challenge(err) == ('Bearer scope="pets:read pets:admin" error="insufficient_scope" '
                              'error_description="the token does not have the required scopes"')
    assert refused(guard, invocation(headers=bearer(provider.token()))).response_type == "ACCESS_DENIED"
    inv = invocation(headers=bearer(provider.token(scope="openid pets:read")))
    run(guard, inv)
    assert inv.authorizer is not None and inv.authorizer["jwt"]["scopes"] == ["openid", "pets:read"]
    inv = invocation(headers=bearer(provider.token(scp=["pets:admin"])))
    run(guard, inv)
    assert inv.authorizer is not None and inv.authorizer["jwt"]["scopes"] == ["pets:admin"]
    invalid = refused(guard, invocation(headers=bearer(provider.token(aud="other", scope="pets:read"))))
    assert challenge(invalid).startswith('Bearer scope="pets:read pets:admin" error="invalid_token"')


def test_jwt_authorizers_are_checked_at_deploy_time(provider: OidcProvider, clock: ManualClock) -> None:
    deps = HttpAuthorizerDeps(_NoFunctions(), AuthorizerCache(clock=clock))
    with pytest.raises(DeployError, match="must use https"):
        build(definition(jwt_authorizer("http://issuer.example.com")), route("JWT", "jw1234"), "$default", deps)
    with pytest.raises(DeployError, match="identity source"):
        build(definition(jwt_authorizer(provider.issuer, source="$context.requestId")), route("JWT", "jw1234"),
              "$default", deps)
    with pytest.raises(DeployError, match="needs a JWT authorizer"):
        build(definition({**jwt_authorizer(provider.issuer), "authorizerType": "REQUEST"}), route("JWT", "jw1234"),
              "$default", deps)
    with pytest.raises(DeployError, match="authorizerId"):
        build(definition(None), route("JWT", "jw1234"), "$default", deps)
    assert build(definition(jwt_authorizer("https://login.example.com/tenant")), route("JWT", "jw1234"), "$default",
                 deps) is not None
    assert build(definition(None), route("NONE"), "$default", deps) is None


def test_issuer_urls() -> None:
    assert oidc.discovery_url("https://idp.example.com/realm/") == \
        "https://idp.example.com/realm/.well-known/openid-configuration"
    assert oidc.url_problem("https://idp.example.com") is None
    for local in ("http://127.0.0.1:8080", "http://localhost:9000/x", "http://[::1]:1234", "http://127.5.5.5"):
        assert oidc.url_problem(local) is None, local
    for remote in ("http://idp.example.com", "http://10.0.0.1", "ftp://localhost/x", "idp.example.com"):
        assert oidc.url_problem(remote) is not None, remote


def test_claims_render_as_aws_renders_them() -> None:
    assert [claim_text(v) for v in ("s", True, False, 7, 7.0, 1.25, None, [1, "a", [True]], {"b": 1, "a": [2]})] \
        == ["s", "true", "false", "7", "7", "1.25", "<nil>", "[1 a [true]]", "map[a:[2] b:1]"]


# ---- Lambda REQUEST authorizers -----------------------------------------------------------------------------

HANDLERS = '''
import asyncio, json, os

def _note(event):
    with open(os.environ["CALLS"], "a") as f:
        f.write(json.dumps(event) + "\\n")

def simple(event, context):
    _note(event)
    allowed = event["identitySource"][0] == "let-me-in"
    return {"isAuthorized": allowed, "context": {"user": "alice", "level": 3, "roles": ["a", "b"], "org": {"id": 7}}}

def simple_no_context(event, context):
    _note(event)
    return {"isAuthorized": True}

def policy(event, context):
    _note(event)
    token = event["identitySource"] if isinstance(event["identitySource"], str) else event["identitySource"][0]
    arn = event.get("routeArn") or event["methodArn"]
    effect = "Allow" if token.startswith("allow") else "Deny"
    return {"principalId": "user-7", "context": {"user": "bob", "admin": False},
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]}}

def pets_only(event, context):
    _note(event)
    arn = event["routeArn"].rsplit("/", 2)[0] + "/GET/pets"
    return {"principalId": "user-7",
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}]}}

def nested_v1(event, context):
    _note(event)
    return {"principalId": "u", "context": {"roles": ["a"]},
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]}}

def boom(event, context):
    _note(event)
    raise ValueError("database down")

def unauthorized(event, context):
    _note(event)
    raise Exception("Unauthorized")

def not_an_answer(event, context):
    _note(event)
    return "yes"

def no_boolean(event, context):
    _note(event)
    return {"isAuthorized": "true"}

async def slow(event, context):
    _note(event)
    await asyncio.sleep(1.5)
    return {"isAuthorized": True}
'''
FUNCTIONS = ("simple", "simple_no_context", "policy", "pets_only", "nested_v1", "boom", "unauthorized",
             "not_an_answer", "no_boolean", "slow")


class Lambdas:
    """The handlers above as inline functions, each call noted (its event) in a file."""

    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "authorizers.py").write_text(HANDLERS)
        self.calls_file = tmp_path / "calls.jsonl"
        self.functions = Functions()
        for name in FUNCTIONS:
            self.functions.load(FunctionSpec(name, f"authorizers.py:{name}", tmp_path, timeout=3, mode="inline",
                                             environment={"CALLS": str(self.calls_file)}))
        self.clock = ManualClock()
        self.cache = AuthorizerCache(clock=self.clock)

    def calls(self) -> list[dict[str, Any]]:
        if not self.calls_file.exists():
            return []
        return [orjson.loads(line) for line in self.calls_file.read_text().splitlines()]

    def guard(self, function: str, version: str = "2.0", *, simple: bool = False, ttl: int | None = None,
              sources: list[str] | None = None, route_key: str = "GET /pets", strict: bool = True,
              uri: str | None = None, stage: str = "$default") -> Any:
        authorizer: Authorizer = {
            "authorizerId": "la1234", "name": "gate", "authorizerType": "REQUEST",
            "identitySource": ["$request.header.Authorization"] if sources is None else sources,
            "authorizerUri": uri or (f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                     f"arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations"),
            "authorizerPayloadFormatVersion": version,
        }
        if simple:
            authorizer["enableSimpleResponses"] = True
        if ttl is not None:
            authorizer["authorizerResultTtlInSeconds"] = ttl
        deps = HttpAuthorizerDeps(self.functions, self.cache, strict=strict)
        return build(definition(authorizer), route("CUSTOM", "la1234", route_key=route_key), stage, deps)


@pytest.fixture
def lambdas(tmp_path: Path) -> Iterator[Lambdas]:
    found = Lambdas(tmp_path)
    yield found
    asyncio.run(found.functions.close())


def token(value: str) -> list[tuple[str, str]]:
    return [("Authorization", value)]


def test_simple_responses_allow_with_their_context_or_deny(lambdas: Lambdas) -> None:
    guard = lambdas.guard("simple", simple=True)
    inv = invocation(headers=token("let-me-in"))
    assert run(guard, inv) is True
    assert inv.authorizer == {"lambda": {"user": "alice", "level": 3, "roles": ["a", "b"], "org": {"id": 7}}}
    err = refused(guard, invocation(headers=token("wrong")))
    assert err.response_type == "ACCESS_DENIED"
    event = lambdas.calls()[0]
    assert event["version"] == "2.0" and event["type"] == "REQUEST"
    assert event["identitySource"] == ["let-me-in"] and event["routeArn"] == f"{ROUTE_ARN}/$default/GET/pets"
    assert event["routeKey"] == "GET /pets" and event["headers"]["authorization"] == "let-me-in"
    inv = invocation(headers=token("x"))
    run(lambdas.guard("simple_no_context", simple=True), inv)
    assert inv.authorizer == {"lambda": None}


def test_policy_responses_are_evaluated_against_the_route_arn(lambdas: Lambdas) -> None:
    guard = lambdas.guard("policy")
    inv = invocation(headers=token("allow-me"))
    run(guard, inv)
    assert inv.authorizer == {"lambda": {"user": "bob", "admin": False}}
    assert refused(guard, invocation(headers=token("deny-me"))).response_type == "ACCESS_DENIED"
    pets_only = lambdas.guard("pets_only", route_key="GET /orders")
    assert refused(pets_only, invocation(path="/orders", route_key="GET /orders",
                                         headers=token("t"))).response_type == "ACCESS_DENIED"


def test_format_1_0_sends_the_rest_shaped_event(lambdas: Lambdas) -> None:
    guard = lambdas.guard("policy", "1.0", sources=["$request.header.Authorization", "$request.querystring.q"],
                          stage="prod")
    inv = invocation(stage="prod", headers=token("allow-1"), query="q=42&q=43")
    run(guard, inv)
    assert inv.authorizer == {"lambda": {"user": "bob", "admin": False}}
    event = lambdas.calls()[0]
    assert event["version"] == "1.0" and event["type"] == "REQUEST"
    assert event["identitySource"] == event["authorizationToken"] == "allow-1,42,43"
    assert event["methodArn"] == f"{ROUTE_ARN}/prod/GET/pets"
    nested = lambdas.guard("nested_v1", "1.0")
    assert refused(nested, invocation(headers=token("t"))).response_type == "AUTHORIZER_CONFIGURATION_ERROR"


def test_a_missing_identity_source_is_401_without_calling_the_function(lambdas: Lambdas) -> None:
    guard = lambdas.guard("simple", simple=True, sources=["$request.header.Authorization",
                                                          "$request.querystring.tenant"])
    for headers, query in (([], "tenant=t1"), (token("let-me-in"), ""), (token(""), "tenant=t1"),
                           (token("let-me-in"), "Tenant=t1")):
        assert refused(guard, invocation(headers=headers, query=query)).response_type == "UNAUTHORIZED"
    assert lambdas.calls() == []
    run(guard, invocation(headers=token("let-me-in"), query="tenant=t1"))
    assert lambdas.calls()[0]["identitySource"] == ["let-me-in", "t1"]


def test_context_and_stage_variable_identity_sources(lambdas: Lambdas) -> None:
    guard = lambdas.guard("simple", simple=True, sources=["$stageVariables.gate", "$context.routeKey",
                                                          "$request.header.X-Tenant"])
    inv = invocation(variables={"gate": "let-me-in"}, headers=[("x-tenant", "a"), ("X-Tenant", "b")])
    run(guard, inv)
    assert lambdas.calls()[0]["identitySource"] == ["let-me-in", "GET /pets", "a,b"]
    assert refused(guard, invocation(headers=[("x-tenant", "a")])).response_type == "UNAUTHORIZED"


def test_results_are_cached_by_identity_for_the_ttl(lambdas: Lambdas) -> None:
    guard = lambdas.guard("simple", simple=True, ttl=300)
    run(guard, invocation(headers=token("let-me-in")))
    inv = invocation(headers=token("let-me-in"))
    assert run(guard, inv) is False  # answered from the cache, at once
    assert inv.authorizer is not None and inv.authorizer["lambda"]["user"] == "alice"
    assert len(lambdas.calls()) == 1
    assert refused(guard, invocation(headers=token("someone"))).response_type == "ACCESS_DENIED"
    assert refused(guard, invocation(headers=token("someone"))).response_type == "ACCESS_DENIED"
    assert len(lambdas.calls()) == 2  # a different identity is asked once, then its denial is cached too
    lambdas.clock.advance(301)
    run(guard, invocation(headers=token("let-me-in")))
    assert len(lambdas.calls()) == 3


def test_a_cached_policy_is_evaluated_for_each_route(lambdas: Lambdas) -> None:
    pets = lambdas.guard("pets_only", ttl=60)
    orders = lambdas.guard("pets_only", ttl=60, route_key="GET /orders")
    run(pets, invocation(headers=token("t")))
    err = refused(orders, invocation(path="/orders", route_key="GET /orders", headers=token("t")))
    assert err.response_type == "ACCESS_DENIED" and len(lambdas.calls()) == 1


def test_without_a_ttl_every_request_calls_the_function(lambdas: Lambdas) -> None:
    for ttl in (None, 0):
        guard = lambdas.guard("simple", simple=True, ttl=ttl)
        assert run(guard, invocation(headers=token("let-me-in"))) is True
        assert run(guard, invocation(headers=token("let-me-in"))) is True
    assert len(lambdas.calls()) == 4


@pytest.mark.parametrize(("function", "simple", "response_type"), [
    ("boom", False, "AUTHORIZER_CONFIGURATION_ERROR"),
    ("not_an_answer", False, "AUTHORIZER_CONFIGURATION_ERROR"),
    ("no_boolean", True, "AUTHORIZER_CONFIGURATION_ERROR"),
    ("policy", True, "AUTHORIZER_CONFIGURATION_ERROR"),  # a policy where a simple response is expected
    ("simple", False, "AUTHORIZER_CONFIGURATION_ERROR"),  # and the other way round
    ("unauthorized", False, "UNAUTHORIZED"),
])
def test_function_failures(lambdas: Lambdas, function: str, simple: bool, response_type: str) -> None:
    guard = lambdas.guard(function, simple=simple, ttl=300)
    assert refused(guard, invocation(headers=token("allow"))).response_type == response_type
    assert refused(guard, invocation(headers=token("allow"))).response_type == response_type
    assert len(lambdas.calls()) == 2  # failures are not cached


def test_an_authorizer_gets_ten_seconds(lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_lambda_authorizer, "TIMEOUT_SECONDS", 0.2)
    err = refused(lambdas.guard("slow", simple=True), invocation(headers=token("t")))
    assert err.response_type == "AUTHORIZER_CONFIGURATION_ERROR" and "did not answer within" in (err.log or "")


def test_lambda_authorizers_are_checked_at_deploy_time(lambdas: Lambdas) -> None:
    with pytest.raises(DeployError, match="unknown function 'nope'"):
        lambdas.guard("nope")
    lenient = lambdas.guard("nope", strict=False)
    assert refused(lenient, invocation(headers=token("t"))).response_type == "AUTHORIZER_CONFIGURATION_ERROR"
    with pytest.raises(DeployError, match="authorizerPayloadFormatVersion"):
        lambdas.guard("simple", "3.0")
    with pytest.raises(DeployError, match="enableSimpleResponses"):
        lambdas.guard("simple", "1.0", simple=True)
    with pytest.raises(DeployError, match="at least one identity source"):
        lambdas.guard("simple", simple=True, ttl=60, sources=[])
    with pytest.raises(DeployError, match="identity source"):
        lambdas.guard("simple", simple=True, sources=["method.request.header.Authorization"])
    with pytest.raises(DeployError, match="authorizerUri"):
        lambdas.guard("simple", uri="https://example.com/fn")
    plain = lambdas.guard("simple", simple=True, uri="arn:aws:lambda:us-east-1:123456789012:function:simple:live")
    run(plain, invocation(headers=token("let-me-in")))


def test_function_names_of_authorizer_and_integration_uris() -> None:
    assert function_of("arn:aws:lambda:us-east-1:123456789012:function:gate") == "gate"
    assert function_of("arn:aws:lambda:us-east-1:123456789012:function:gate:7") == "gate:7"  # resolved when called
    assert function_of("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                       "arn:aws:lambda:us-east-1:123456789012:function:gate/invocations") == "gate"
    assert function_of("arn:aws:s3:::bucket") is None


# ---- AWS_IAM ------------------------------------------------------------------------------------------------

ALICE = ("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::123456789012:user/alice")
BOB = ("AKIABOB0000000000002", "bob-secret", "arn:aws:iam::123456789012:user/bob")
ERIN = ("AKIAERIN000000000005", "erin-secret", "arn:aws:iam::999999999999:user/erin")


def identities() -> Identities:
    pets = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ROUTE_ARN}/*/GET/pets"}]}
    return Identities(parse_identity({"access_key_id": key, "secret_access_key": secret, "arn": arn,
                                      "policies": [pets]}) for key, secret, arn in (ALICE, BOB, ERIN))


def signed(method: str, path: str, creds: tuple[str, str, str] = ALICE, secret: str | None = None) -> Invocation:
    host = f"{API}.execute-api.us-east-1.amazonaws.com"
    request = AWSRequest(method=method, url=f"https://{host}{path}", data=b"")
    SigV4Auth(Credentials(creds[0], secret or creds[1]), "execute-api", "us-east-1").add_auth(request)
    return invocation(method, path, route_key=f"{method} {path}",
                      headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"])


def iam_guard(idents: Identities) -> Any:
    deps = HttpAuthorizerDeps(_NoFunctions(), identities=idents)
    return build(definition(None), route("AWS_IAM"), "$default", deps)


def test_signed_requests_name_their_caller() -> None:
    guard = iam_guard(identities())
    inv = signed("GET", "/pets")
    assert run(guard, inv) is False
    alice = identities().get(ALICE[0])
    assert alice is not None
    assert inv.authorizer == {"iam": {"accessKey": ALICE[0], "accountId": "123456789012", "callerId": alice.user_id,
                                      "cognitoIdentity": None, "principalOrgId": None, "userArn": ALICE[2],
                                      "userId": alice.user_id}}
    assert inv.request.header("authorization") is None and inv.request.header("x-amz-date") is not None


def test_unsigned_tampered_or_unallowed_requests_are_403() -> None:
    guard = iam_guard(identities())
    assert refused(guard, invocation()).response_type == "ACCESS_DENIED"  # unsigned
    assert refused(guard, signed("GET", "/pets", secret="wrong")).response_type == "ACCESS_DENIED"
    assert refused(guard, signed("POST", "/pets")).response_type == "ACCESS_DENIED"  # its policy allows GET only
    stranger = ("AKIASTRANGER00000009", "x", "arn:aws:iam::123456789012:user/stranger")
    assert refused(guard, signed("GET", "/pets", stranger)).response_type == "ACCESS_DENIED"
    err = refused(guard, signed("GET", "/pets", ERIN))  # another account: no resource policy can let it in
    assert err.response_type == "ACCESS_DENIED" and "erin" in (err.log or "")
