"""Who may use the control plane: open on a loopback listener, refused on a public one unless
admin credentials are configured (then every call must be SigV4-signed with them), or served
only on a separate admin port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support import Server, apigateway_client, free_port, request

ADMIN = {"APIWAY_ADMIN_ACCESS_KEY_ID": "AKIAADMINEXAMPLE", "APIWAY_ADMIN_SECRET_ACCESS_KEY": "admin-secret-123"}


def _start(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> Server:
    return Server(None, tmp_path / "state.db", extra_args=args, env=env)


@pytest.fixture
def public_no_credentials(tmp_path: Path) -> Iterator[Server]:
    server = _start(tmp_path, ["--host", "0.0.0.0"])
    yield server
    server.stop()


def test_public_listener_without_credentials_refuses_control_calls(public_no_credentials: Server):
    with pytest.raises(ClientError) as info:
        apigateway_client(public_no_credentials.port).get_rest_apis()
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] == "AccessDeniedException"
    assert "APIWAY_ADMIN_ACCESS_KEY_ID" in err["Error"]["Message"]
    # The gateway itself still answers (no API here), only the control plane is closed.
    assert request(public_no_credentials.port, "GET", "/nothing").status == 404


@pytest.fixture
def public_with_credentials(tmp_path: Path) -> Iterator[Server]:
    server = _start(tmp_path, ["--host", "0.0.0.0"], env=ADMIN)
    yield server
    server.stop()


def test_admin_credentials_required_and_checked(public_with_credentials: Server):
    port = public_with_credentials.port
    signed = apigateway_client(port, key=ADMIN["APIWAY_ADMIN_ACCESS_KEY_ID"],
                               secret=ADMIN["APIWAY_ADMIN_SECRET_ACCESS_KEY"])
    api = signed.create_rest_api(name="guarded")
    assert api["name"] == "guarded"
    cases = {
        "UnrecognizedClientException": apigateway_client(port, key="AKIAOTHER", secret="x"),
        "InvalidSignatureException": apigateway_client(port, key=ADMIN["APIWAY_ADMIN_ACCESS_KEY_ID"], secret="wrong"),
    }
    for code, client in cases.items():
        with pytest.raises(ClientError) as info:
            client.get_rest_api(restApiId=api["id"])
        assert info.value.response["Error"]["Code"] == code
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unsigned = request(port, "GET", "/restapis")
    assert unsigned.status == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}
    assert unsigned.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


@pytest.fixture
def admin_port(tmp_path: Path) -> Iterator[tuple[Server, int]]:
    if os.environ.get("APIWAY_TEST_SERVER") == "uvicorn":
        pytest.skip("--admin-port is served by the native front-end only (apiway refuses it with uvicorn)")
    port = free_port()
    server = _start(tmp_path, ["--admin-port", str(port)])
    yield server, port
    server.stop()


def test_admin_port_serves_the_control_plane_alone(admin_port: tuple[Server, int]):
    server, port = admin_port
    api = apigateway_client(port).create_rest_api(name="admin-port")
    assert apigateway_client(port).get_rest_api(restApiId=api["id"])["name"] == "admin-port"
    reply = request(server.port, "GET", "/restapis")  # not on the gateway's port
    assert reply.status == 404
    assert "No API here" in reply.json()["message"]
    assert f"control plane and Lambda Invoke API (boto3 / AWS CLI endpoint_url): http://127.0.0.1:{port}" in server.output
