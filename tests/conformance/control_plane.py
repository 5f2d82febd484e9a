"""Checks control-plane responses and errors against the ones recorded from AWS: an error has the
same code, message (AWS's placeholders filled in) and HTTP status; a response the same fields and
values. Every recorded error a run matched is kept in VERIFIED_ERRORS for the end-of-run tally."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import recorded

ACCOUNT_ID = "123456789012"  # the account apiway reports; recordings normalise AWS's to 111111111111
SNAPSHOT = "test_apigateway_api.snapshot.json"
# (snapshot file, recorded test, snapshot key) of each recorded error this test run matched
VERIFIED_ERRORS: set[tuple[str, str, str]] = set()


def recorded_content(test: str, snapshot: str = SNAPSHOT) -> dict[str, Any]:
    data = recorded(snapshot)
    matches = [k for k in data if k.split("::")[-1] == test]
    assert len(matches) == 1, f"{test}: {len(matches)} recordings"
    return data[matches[0]]["recorded-content"]


def recorded_error(test: str, key: str, snapshot: str = SNAPSHOT) -> tuple[str, str, int]:
    entry = recorded_content(test, snapshot)[key]
    return entry["Error"]["Code"], entry["Error"]["Message"], entry["ResponseMetadata"]["HTTPStatusCode"]


def assert_recorded_error(call: Callable[[], Any], test: str, key: str, *, snapshot: str = SNAPSHOT,
                          **placeholders: str) -> None:
    """Run a boto3 call that AWS answered with an error and compare code, message and status.
    `placeholders` map the recording's normalised values (e.g. "<id:1>") to this run's values."""
    code, message, status = recorded_error(test, key, snapshot)
    message = message.replace("111111111111", ACCOUNT_ID)
    for placeholder, value in placeholders.items():
        message = message.replace(placeholder, value)
    with pytest.raises(ClientError) as info:
        call()
    got = info.value.response
    assert (got["Error"]["Code"], got["Error"]["Message"], got["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, message, status)
    VERIFIED_ERRORS.add((snapshot, test, key))


def assert_like_recorded(got: Any, want: Any, where: str = "$") -> None:
    """Compare a successful boto3 response with AWS's recorded one: the same fields with the same
    values, where the recording's normalised placeholders (`<id:1>`, `<region>`, …) match anything,
    a JSON string matches the structure the recording parsed it into and a date matches "datetime"."""
    if isinstance(got, datetime):
        got = "datetime"
    if isinstance(got, dict) and "ResponseMetadata" in got:
        assert got["ResponseMetadata"]["HTTPStatusCode"] == want["ResponseMetadata"]["HTTPStatusCode"], where
    if isinstance(want, dict | list) and isinstance(got, str):
        got = json.loads(got)
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        keys = set(want) - {"ResponseMetadata"}
        assert set(got) - {"ResponseMetadata"} == keys, f"{where}: {sorted(got)} != {sorted(want)}"
        for key in keys:
            assert_like_recorded(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_like_recorded(g, w, f"{where}[{i}]")
    elif isinstance(want, str) and isinstance(got, str):
        pieces = re.split(r"<[a-z-]+(?::\d+)?>", want.replace("111111111111", ACCOUNT_ID))
        pattern = ".+".join(map(re.escape, pieces))
        assert re.fullmatch(pattern, got, re.DOTALL), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def new_api(apigw, name: str, *verbs: str) -> tuple[str, str]:
    """A new REST API with the given methods (no auth) on its root: (API id, root resource id)."""
    api = apigw.create_rest_api(name=name)
    for verb in verbs:
        apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod=verb,
                         authorizationType="NONE")
    return api["id"], api["rootResourceId"]


def put_mock_integration(apigw, api_id: str, resource_id: str, verb: str = "GET") -> None:
    """A MOCK integration answering 200 on an existing method."""
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
