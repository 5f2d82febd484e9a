"""GetSdk's work: a deployment snapshot and its stage → the zip of the SDK of the requested type."""

from __future__ import annotations

from collections.abc import Callable

from apiway.model.rest import ApiDefinition
from apiway.sdk.archive import zipped
from apiway.sdk.javascript import javascript_sdk
from apiway.sdk.operations import Operation, operations
from apiway.sdk.python import python_sdk

# (title, stage, operations, invoke URL, region) → files by path
Generator = Callable[[str, str, list[Operation], str, str], dict[str, bytes]]

GENERATORS: dict[str, Generator] = {"javascript": javascript_sdk, "python": python_sdk}


def generate_sdk(sdk_type: str, snapshot: ApiDefinition, stage_name: str, invoke_url: str, region: str) -> bytes:
    """The SDK as a zip archive; `sdk_type` is one of GENERATORS."""
    title = snapshot["restApi"].get("name") or snapshot["restApi"]["id"]
    return zipped(GENERATORS[sdk_type](title, stage_name, operations(snapshot), invoke_url, region))
