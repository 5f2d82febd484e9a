"""Router: AWS REST matching rules (spec §1.2; recorded routing cases in test_apigateway_common)."""

from __future__ import annotations

import pytest

from apiway.core.router import Router


def build(*routes: tuple[str, str]) -> Router[str]:
    router: Router[str] = Router()
    for path, verb in routes:
        router.add(path, verb, f"{verb} {path}")
    return router


def target(router: Router[str], path: str, verb: str = "GET") -> str | None:
    m = router.match(path, verb)
    return None if m is None else m.target


def params(router: Router[str], path: str, verb: str = "GET") -> dict[str, str]:
    m = router.match(path, verb)
    assert m is not None
    return m.path_params


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/pets", "GET /pets"),
        ("/pets/", "GET /pets"),  # one trailing slash is ignored
        ("/pets/1", "GET /pets/{id}"),
        ("/pets/mine", "GET /pets/mine"),  # literal beats {param}
        ("/pets/1/toys/ball", "GET /{proxy+}"),
        ("/other", "GET /{proxy+}"),
        ("/", "GET /"),
    ],
)
def test_precedence_literal_then_param_then_greedy(path: str, expected: str) -> None:
    router = build(("/", "GET"), ("/pets", "GET"), ("/pets/{id}", "GET"), ("/pets/mine", "GET"), ("/{proxy+}", "GET"))
    assert target(router, path) == expected


def test_greedy_does_not_match_root() -> None:
    assert target(build(("/{proxy+}", "ANY")), "/") is None


def test_method_falls_through_to_sibling_greedy() -> None:
    """AWS: OPTIONS /test goes to the sibling {proxy+} when /test has only POST (recorded row 2)."""
    router = build(("/test", "POST"), ("/test/any", "ANY"), ("/{proxy+}", "OPTIONS"))
    assert target(router, "/test", "OPTIONS") == "OPTIONS /{proxy+}"
    assert target(router, "/test", "POST") == "POST /test"
    assert target(router, "/test/any", "OPTIONS") == "ANY /test/any"
    assert target(router, "/test/any", "GET") == "ANY /test/any"
    assert target(router, "/test", "GET") is None


def test_param_path_falls_back_to_greedy_when_deeper_literal_missing() -> None:
    """/part1/random-value goes to /{param+} although /part1 and /part1/hardcoded-value exist."""
    router = build(("/part1", "GET"), ("/{param+}", "GET"), ("/part1/hardcoded-value", "GET"))
    assert target(router, "/part1/random-value") == "GET /{param+}"
    assert params(router, "/part1/random-value") == {"param": "part1/random-value"}
    assert target(router, "/part1/hardcoded-value") == "GET /part1/hardcoded-value"


def test_exact_verb_beats_any() -> None:
    router = build(("/x", "ANY"), ("/x", "GET"))
    assert target(router, "/x", "GET") == "GET /x"
    assert target(router, "/x", "DELETE") == "ANY /x"


def test_params_captured_raw() -> None:
    router = build(("/users/{id}/files/{path+}", "GET"))
    assert params(router, "/users/a%20b/files/x//y/z.txt/") == {"id": "a%20b", "path": "x//y/z.txt"}


def test_leading_slashes_ignored() -> None:
    assert target(build(("/hardcoded", "GET")), "//hardcoded") == "GET /hardcoded"


def test_unknown_returns_none() -> None:
    router = build(("/a/{b}", "GET"))
    assert target(router, "/a") is None
    assert target(router, "/a/b/c") is None
    assert target(router, "/a/b", "POST") is None


def test_greedy_must_be_last_and_one_variable_per_level() -> None:
    router: Router[str] = Router()
    with pytest.raises(ValueError, match="greedy"):
        router.add("/{p+}/x", "GET", "t")
    router.add("/{a}", "GET", "t")
    with pytest.raises(ValueError, match="one variable"):
        router.add("/{b}", "GET", "t")
