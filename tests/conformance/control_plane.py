"""Checks control-plane errors against the ones recorded from AWS (test_apigateway_api snapshot):
same error code, same message (AWS's placeholders filled in), same HTTP status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import recorded

ACCOUNT_ID = "123456789012"  # the account apiway reports; recordings normalise AWS's to 111111111111
SNAPSHOT = "test_apigateway_api.snapshot.json"


def recorded_content(test: str) -> dict[str, Any]:
    data = recorded(SNAPSHOT)
    matches = [k for k in data if k.split("::")[-1] == test]
    assert len(matches) == 1, f"{test}: {len(matches)} recordings"
    return data[matches[0]]["recorded-content"]


def recorded_error(test: str, key: str) -> tuple[str, str, int]:
    entry = recorded_content(test)[key]
    return entry["Error"]["Code"], entry["Error"]["Message"], entry["ResponseMetadata"]["HTTPStatusCode"]


def assert_recorded_error(call: Callable[[], Any], test: str, key: str, **placeholders: str) -> None:
    """Run a boto3 call that AWS answered with an error and compare code, message and status.
    `placeholders` map the recording's normalised values (e.g. "<id:1>") to this run's values."""
    code, message, status = recorded_error(test, key)
    message = message.replace("111111111111", ACCOUNT_ID)
    for placeholder, value in placeholders.items():
        message = message.replace(placeholder, value)
    with pytest.raises(ClientError) as info:
        call()
    got = info.value.response
    assert (got["Error"]["Code"], got["Error"]["Message"], got["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, message, status)
