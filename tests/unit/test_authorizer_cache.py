"""The authorizer result cache on the shared state: results kept as bytes per stage namespace with the
authorizer's TTL on an injected clock, a redeployment starting empty, FlushStageAuthorizersCache emptying one
stage, the oldest entries leaving past the bound, and each distinct value decoded once."""

from __future__ import annotations

from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.cognito import VerifiedToken
from apiway.auth.lambda_authorizer import parse_output
from apiway.core.clock import ManualClock
from apiway.state.memory import MemoryState

PAYLOAD = (b'{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
           b'"Action":"execute-api:Invoke","Resource":"*"}]},"context":{"tier":"gold"}}')


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: bytes):
        self.calls += 1
        return parse_output(value)


def test_results_are_kept_as_bytes_for_their_ttl():
    clock = ManualClock(0.0)
    state = MemoryState(clock)
    cache = AuthorizerCache(state, clock=clock)
    results = cache.results(("api", "prod", "dep1", "auth1"), "lambda", parse_output)
    result = parse_output(PAYLOAD)
    results.put(results.key("token-1"), PAYLOAD, result, 300)
    assert state.cache_get("authorizers api/prod", ("dep1", "auth1", "token-1")) == PAYLOAD
    assert results.get(results.key("token-1")) is result and results.get(results.key("token-2")) is None
    clock.advance(299.9)
    assert results.get(results.key("token-1")) is result
    clock.advance(0.1)
    assert results.get(results.key("token-1")) is None


def test_request_authorizer_identities_are_keyed_by_every_value():
    cache = AuthorizerCache()
    results = cache.results(("api", "prod", "dep1", "auth1"), "lambda", parse_output)
    results.put(results.key(("a", "b")), PAYLOAD, parse_output(PAYLOAD), 60)
    assert results.get(results.key(("a", "b"))) is not None
    assert all(results.get(results.key(other)) is None for other in (("ab",), "a", ("a", "b", "c"), "ab"))


def test_a_redeployment_starts_empty_and_a_flush_empties_one_stage():
    cache = AuthorizerCache()
    prod1 = cache.results(("api", "prod", "dep1", "auth1"), "lambda", parse_output)
    prod2 = cache.results(("api", "prod", "dep2", "auth1"), "lambda", parse_output)
    dev = cache.results(("api", "dev", "dep1", "auth1"), "lambda", parse_output)
    for results in (prod1, dev):
        results.put(results.key("t"), PAYLOAD, parse_output(PAYLOAD), 60)
    assert prod2.get(prod2.key("t")) is None
    cache.flush("api", "prod")
    assert prod1.get(prod1.key("t")) is None and dev.get(dev.key("t")) is not None


def test_past_the_bound_the_oldest_results_go_first():
    cache = AuthorizerCache(max_entries=2)
    results = cache.results(("api", "prod", "dep1", "auth1"), "lambda", parse_output)
    for token in ("t1", "t2", "t3"):
        results.put(results.key(token), PAYLOAD, parse_output(PAYLOAD), 60)
    assert [results.get(results.key(t)) is not None for t in ("t1", "t2", "t3")] == [False, True, True]


def test_a_value_is_decoded_once_even_when_it_comes_back_as_new_bytes():
    """A backend outside the process returns a new bytes object each time: the memo still finds it, so a
    hit does not compile the policy again."""
    state = MemoryState()
    decode = Counting()
    results = AuthorizerCache(state).results(("api", "prod", "dep1", "auth1"), "lambda", decode)
    state.cache_put("authorizers api/prod", ("dep1", "auth1", "t"), bytes(bytearray(PAYLOAD)), 60)
    first = results.get(results.key("t"))
    state.cache_put("authorizers api/prod", ("dep1", "auth1", "t"), bytes(bytearray(PAYLOAD)), 60)
    assert results.get(results.key("t")) is first and decode.calls == 1
    assert first is not None and first.context == {"tier": "gold", "principalId": "u1"}


def test_a_verified_cognito_token_survives_its_serialised_form():
    token = VerifiedToken({"sub": "u1", "exp": "Fri Jul 29 18:52:53 UTC 2016"}, "id", ("client",), ("a", "b"))
    assert VerifiedToken.decode(token.encode()) == token
