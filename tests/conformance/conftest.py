from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server, apigateway_client


@pytest.fixture(scope="module")
def apigw_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `apiway serve` with no project: everything comes through the control plane."""
    state: Path = tmp_path_factory.mktemp("control") / "state.db"
    server = Server(None, state)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def apigw(apigw_server: Server):
    """A boto3 `apigateway` client for that server."""
    return apigateway_client(apigw_server.port)
