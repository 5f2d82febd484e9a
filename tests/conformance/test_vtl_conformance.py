"""Mapping-template (VTL) conformance: every case of vtl_cases.yaml is one test, named by its id.

A case compiles its template with `compile_vtl`, builds the template variables from the case's request (body,
path/querystring/header parameters, `$context` overrides, stage variables) on top of a realistic default
request context, renders, and compares the output exactly. Cases with `expected_error` must be rejected: `syntax`
when compiled, `runtime` when rendered. `expected_context` checks what the template wrote into
`$context.requestOverride` / `$context.responseOverride`.

Where the expected values come from is recorded per case (`source`) and summarised at the top of the YAML file.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiway.vtl.builtins import template_variables
from apiway.vtl.engine import TemplateRuntimeError, TemplateSyntaxError, compile_vtl

CASES_FILE = Path(__file__).with_name("vtl_cases.yaml")
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]

CATEGORIES = frozenset((
    "recording", "aws-doc", "velocity", "java-methods", "jsonpath", "params", "util", "context", "overrides",
    "null", "whitespace", "error",
))
REQUIRED_KEYS = frozenset(("id", "category", "source", "template"))
OPTIONAL_KEYS = frozenset(("body", "params", "context", "stageVariables", "expected", "expected_error",
                           "expected_context"))
PARAM_KINDS = ("path", "querystring", "header")
MIN_CASES = 160


def default_context() -> dict[str, Any]:
    """`$context` of an ordinary request to POST /test/pets on stage `test`; cases override parts of it."""
    return {
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "deploymentId": "d3pl0y",
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5",
        "extendedRequestId": "Abc123DefGhIAAA=",
        "httpMethod": "POST",
        "identity": {
            "accountId": None,
            "apiKey": None,
            "apiKeyId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": "192.0.2.10",
            "user": None,
            "userAgent": "curl/8.4.0",
            "userArn": None,
        },
        "isCanaryRequest": False,
        "path": "/test/pets",
        "protocol": "HTTP/1.1",
        "requestId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "requestTime": "25/Nov/2025:07:30:00 +0000",
        "requestTimeEpoch": 1764055800000,
        "resourceId": "r3s0u1",
        "resourcePath": "/pets",
        "stage": "test",
        "requestOverride": {"header": {}, "querystring": {}, "path": {}},
        "responseOverride": {"header": {}, "status": None},
    }


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` laid over it; nested maps merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def request_params(case: dict[str, Any]) -> dict[str, dict[str, str]]:
    given = case.get("params") or {}
    return {kind: dict(given.get(kind) or {}) for kind in PARAM_KINDS}


_ABSENT = object()


def child(obj: Any, key: str) -> Any:
    """`obj.key` for a plain dict or a template host object; `_ABSENT` when there is no such entry."""
    if isinstance(obj, dict):
        return obj.get(key, _ABSENT)
    vtl_get = getattr(obj, "vtl_get", None)
    if vtl_get is not None:
        try:
            return vtl_get(key)
        except Exception:
            return _ABSENT
    return _ABSENT


def context_mismatches(expected: dict[str, Any], actual: Any, where: str = "$context") -> list[str]:
    problems = []
    for key, want in expected.items():
        got = child(actual, key)
        path = f"{where}.{key}"
        if isinstance(want, dict):
            if got is _ABSENT or got is None:
                problems.append(f"{path}: missing")
            else:
                problems.extend(context_mismatches(want, got, path))
        elif want is None:
            if got is not _ABSENT and got is not None:
                problems.append(f"{path}: expected null, got {got!r}")
        elif got is _ABSENT:
            problems.append(f"{path}: missing, expected {want!r}")
        elif got != want or type(got) is not type(want):
            problems.append(f"{path}: expected {want!r}, got {got!r}")
    return problems


def build_variables(case: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context = merged(default_context(), case.get("context") or {})
    stage_variables = case.get("stageVariables", {})
    body = case.get("body", "").encode("utf-8")
    return template_variables(body, request_params(case), context, stage_variables), context


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vtl_case(case: dict[str, Any]) -> None:
    source = case["template"]
    error = case.get("expected_error")

    if error == "syntax":
        with pytest.raises(TemplateSyntaxError):
            compile_vtl(source)
        return

    compiled = compile_vtl(source)
    variables, context = build_variables(case)

    if error == "runtime":
        with pytest.raises(TemplateRuntimeError):
            compiled.render(variables)
        return

    output = compiled.render(variables)
    assert output == case["expected"], f"source: {case['source']}"

    if "expected_context" in case:
        written = variables.get("context", context) if isinstance(variables, dict) else context
        problems = context_mismatches(case["expected_context"], written)
        assert not problems, "; ".join(problems)


def test_case_file_is_well_formed() -> None:
    ids = [c.get("id") for c in CASES]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not duplicates, f"duplicate case ids: {duplicates}"
    assert len(CASES) >= MIN_CASES, f"only {len(CASES)} cases"
    for case in CASES:
        cid = case.get("id")
        assert isinstance(cid, str) and cid, f"case without an id: {case}"
        keys = set(case)
        assert keys >= REQUIRED_KEYS, f"{cid}: missing {sorted(REQUIRED_KEYS - keys)}"
        assert keys <= REQUIRED_KEYS | OPTIONAL_KEYS, f"{cid}: unknown keys {sorted(keys - REQUIRED_KEYS - OPTIONAL_KEYS)}"
        assert case["category"] in CATEGORIES, f"{cid}: unknown category {case['category']!r}"
        assert isinstance(case["template"], str) and isinstance(case["source"], str) and case["source"]
        assert ("expected" in case) != ("expected_error" in case), f"{cid}: needs exactly one of expected / expected_error"
        if "expected" in case:
            assert isinstance(case["expected"], str), f"{cid}: expected must be a string"
        else:
            assert case["expected_error"] in ("syntax", "runtime"), f"{cid}: bad expected_error"
            assert "expected_context" not in case, f"{cid}: expected_context needs a successful render"
        if "body" in case:
            assert isinstance(case["body"], str), f"{cid}: body must be a string"
        if "params" in case:
            assert set(case["params"]) <= set(PARAM_KINDS), f"{cid}: params keys must be {PARAM_KINDS}"
            for kind, values in case["params"].items():
                assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()), f"{cid}: {kind}"
        for key in ("context", "expected_context"):
            if key in case:
                assert isinstance(case[key], dict), f"{cid}: {key} must be a map"
        if "stageVariables" in case and case["stageVariables"] is not None:
            assert isinstance(case["stageVariables"], dict), f"{cid}: stageVariables must be a map or null"
