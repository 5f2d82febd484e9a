"""Every service on the gateway's port that is not an API — the control plane and Lambda's Invoke API —
follows one admin policy: open on a loopback listener; on any other address only SigV4-signed with the
admin credentials (refused outright without them); on the admin port alone when `--admin-port` is used.
APIs themselves stay open. One test calls from a second host: a network namespace this test creates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import Server, free_port, request

FIXTURES = Path(__file__).parent / "fixtures" / "invoke"
ADMIN = {"APIWAY_ADMIN_ACCESS_KEY_ID": "AKIAADMINEXAMPLE", "APIWAY_ADMIN_SECRET_ACCESS_KEY": "admin-secret-123"}
INVOKE = "/2015-03-31/functions/Echo/invocations"
FORGED = b'{"requestContext":{"authorizer":{"principalId":"admin"}}}'  # what an attacker would send


def lambda_client(port: int, key: str = "x", secret: str = "x"):
    return boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(FIXTURES, target)
    return target / "apiway.yaml"


def start(project: Path, tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> Server:
    return Server(project, tmp_path / "state.db", extra_args=args, env=env)


@pytest.fixture
def public(project: Path, tmp_path: Path) -> Iterator[Server]:
    server = start(project, tmp_path, ["--host", "0.0.0.0"])
    yield server
    server.stop()


def test_public_listener_without_credentials_refuses_the_invoke_api(public: Server) -> None:
    reply = request(public.port, "POST", INVOKE, body=FORGED)
    assert reply.status == 403
    assert reply.header("x-amzn-ErrorType") == "AccessDeniedException"
    assert "APIWAY_ADMIN_ACCESS_KEY_ID" in reply.json()["message"]
    with pytest.raises(ClientError) as info:
        lambda_client(public.port).invoke(FunctionName="Echo", Payload=FORGED)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    # The API that calls the same function is still served: only the services are closed.
    assert request(public.port, "POST", "/restapis/invoke001/dev/_user_request_/echo", body="{}").status == 200
    assert "every call refused" in public.output and "--admin-port" in public.output


@pytest.fixture
def public_with_credentials(project: Path, tmp_path: Path) -> Iterator[Server]:
    server = start(project, tmp_path, ["--host", "0.0.0.0"], env=ADMIN)
    yield server
    server.stop()


def test_public_listener_with_credentials_needs_a_lambda_signature(public_with_credentials: Server) -> None:
    port = public_with_credentials.port
    signed = lambda_client(port, ADMIN["APIWAY_ADMIN_ACCESS_KEY_ID"], ADMIN["APIWAY_ADMIN_SECRET_ACCESS_KEY"])
    response = signed.invoke(FunctionName="Echo", Payload=b'{"hello": 1}')
    assert response["StatusCode"] == 200
    assert orjson.loads(response["Payload"].read())["event"] == {"hello": 1}
    for key, secret, code in (("AKIAOTHER", "x", "UnrecognizedClientException"),
                              (ADMIN["APIWAY_ADMIN_ACCESS_KEY_ID"], "wrong", "InvalidSignatureException")):
        with pytest.raises(ClientError) as info:
            lambda_client(port, key, secret).invoke(FunctionName="Echo", Payload=FORGED)
        assert info.value.response["Error"]["Code"] == code
    unsigned = request(port, "POST", INVOKE, body=FORGED)
    assert unsigned.status == 403 and unsigned.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert "SigV4 with the admin credentials required" in public_with_credentials.output


@pytest.fixture
def with_admin_port(project: Path, tmp_path: Path) -> Iterator[tuple[Server, int]]:
    if os.environ.get("APIWAY_TEST_SERVER") == "uvicorn":
        pytest.skip("--admin-port is served by the native front-end only (apiway refuses it with uvicorn)")
    admin = free_port()
    server = start(project, tmp_path, ["--admin-port", str(admin)])
    yield server, admin
    server.stop()


def test_admin_port_takes_the_invoke_api_off_the_gateway_port(with_admin_port: tuple[Server, int]) -> None:
    server, admin = with_admin_port
    response = lambda_client(admin).invoke(FunctionName="Echo", Payload=b"{}")
    assert response["StatusCode"] == 200
    moved = request(server.port, "POST", INVOKE, body=FORGED)
    assert moved.status == 404 and "No API here" in moved.json()["message"]


# -- from a second host ----------------------------------------------------------------------------

def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def second_host() -> Iterator[tuple[str, str]]:
    """A network namespace joined to this host by a veth pair: (namespace, this host's address there)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("SKIPPED LOUDLY: a second host needs root and iproute2 (`ip netns`) to build a network "
                    "namespace; run the suite as root, as CI does")
    tag = uuid.uuid4().hex[:6]
    ns, here, there = f"apiway-{tag}", f"apw{tag}h", f"apw{tag}p"
    octet = int(tag[:2], 16) % 250 + 1  # a /30 of 198.18.0.0/15, the range set aside for test networks
    host_ip, peer_ip = f"198.18.{octet}.1", f"198.18.{octet}.2"
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", ns)
        _ip("addr", "add", f"{host_ip}/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("netns", "exec", ns, "ip", "addr", "add", f"{peer_ip}/30", "dev", there)
        _ip("netns", "exec", ns, "ip", "link", "set", there, "up")
        yield ns, host_ip
    finally:
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


PROBE = """import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode() if sys.argv[2] else None, method=sys.argv[3])
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"""


def test_a_second_host_reaches_apis_but_not_the_services(public: Server, second_host: tuple[str, str]) -> None:
    ns, address = second_host
    base = f"http://{address}:{public.port}"

    def probe(method: str, path: str, body: str = "") -> tuple[int, str]:
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PROBE, base + path, body, method],
                             check=True, capture_output=True, text=True, timeout=20).stdout
        status, _, text = out.strip().partition(" ")
        return int(status), text

    status, text = probe("POST", INVOKE, FORGED.decode())
    assert status == 403 and "without admin credentials" in orjson.loads(text)["message"]
    status, _ = probe("GET", "/restapis")
    assert status == 403
    status, text = probe("POST", "/restapis/invoke001/dev/_user_request_/echo", "{}")
    assert (status, text) == (200, "api /echo")
