"""Deployments (store/deployments.py): a snapshot is the API as it was, and an API without methods is
refused with AWS's message."""

from __future__ import annotations

import pytest

from apiway.model.documents import parse_text
from apiway.openapi.importer import import_openapi
from apiway.store.deployments import new_deployment
from tests.support import mock_api_definition


def definition(api_id: str = "storeapi01"):
    return mock_api_definition(api_id)


def test_deployment_snapshot_is_independent_of_later_edits() -> None:
    d = definition()
    _, snapshot = new_deployment(d)
    next(iter(d["resources"].values()))["path"] = "/edited"
    assert "/edited" not in {r["path"] for r in snapshot["resources"].values()}


def test_api_without_methods_cannot_be_deployed() -> None:
    empty = import_openapi(parse_text("openapi: 3.0.1\ninfo: {title: E}\npaths: {}\n", "e"), "", "e")
    with pytest.raises(Exception, match="The REST API doesn't contain any methods"):
        new_deployment(empty)
