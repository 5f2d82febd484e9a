"""Custom domain names (spec §1.13, §2.1) and HTTPS with per-domain certificates, end to end.

A request whose Host is a custom domain reaches the API and stage of the longest base path mapping
matching its path (the `(none)` mapping takes the rest); the base path is stripped before routing and
`$context.path` keeps it. No matching mapping: 403 Forbidden. Domains come from the project file or the
control plane (CreateDomainName / CreateBasePathMapping, live at once). With `--tls-cert/--tls-key` the
port speaks HTTPS, each domain presenting its own certificate by SNI."""

from __future__ import annotations

import datetime
import http.client
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import Reply, Server, apigateway_client, request

CONTEXT = json.dumps({
    "api": "API_NAME", "stage": "$context.stage", "path": "$context.path", "resourcePath": "$context.resourcePath",
    "proxy": "$input.params('proxy')", "domainName": "$context.domainName", "domainPrefix": "$context.domainPrefix",
})


def api_document(title: str) -> str:
    """ANY / and ANY /{proxy+}: a MOCK answering which API, stage and paths it saw."""
    method = {"x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200",
                                  "responseTemplates": {"application/json": CONTEXT.replace("API_NAME", title)}}}},
        "responses": {"200": {"description": "ok"}}}
    proxy = dict(method, parameters=[{"name": "proxy", "in": "path", "required": True, "schema": {"type": "string"}}])
    return json.dumps({"openapi": "3.0.1", "info": {"title": title, "version": "1"},
                       "paths": {"/": {"x-amazon-apigateway-any-method": method},
                                 "/{proxy+}": {"x-amazon-apigateway-any-method": proxy}}})


PETS_ID = "petsapi1"
DOMAINS = {
    "api.example.com": {"mappings": [
        {"api": "Orders", "stage": "dev"},  # (none): the whole path
        {"base_path": "pets", "api": PETS_ID, "stage": "prod"},
        {"base_path": "pets/v2", "api": "Orders", "stage": "dev"},  # multi-level: the longest match wins
    ]},
    "shop.example.com": {"mappings": [{"base_path": "store", "api": PETS_ID}]},  # the stage from the path
    "*.wild.example.com": {"mappings": [{"base_path": "(none)", "api": PETS_ID, "stage": "prod"}]},
}


def write_project(workdir: Path, domains: dict) -> Path:
    (workdir / "orders.json").write_text(api_document("Orders"))
    (workdir / "pets.json").write_text(api_document("Pets"))
    project = workdir / "apiway.yaml"
    project.write_text(json.dumps({
        "apis": [{"openapi": "orders.json", "stages": {"dev": {}}},
                 {"openapi": "pets.json", "id": PETS_ID, "stages": {"prod": {}, "beta": {}}}],
        "domains": domains}))
    return project


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("domains")
    running = Server(write_project(workdir, DOMAINS), workdir / "state.db")
    yield running
    running.stop()


def on(server: Server, host: str, path: str, method: str = "GET") -> Reply:
    return request(server.port, method, path, {"Host": host})


def seen(reply: Reply) -> dict:
    assert reply.status == 200, (reply.status, reply.body)
    return reply.json()


def assert_forbidden(reply: Reply) -> None:
    assert reply.status == 403, (reply.status, reply.body)
    assert reply.json() == {"message": "Forbidden"}
    assert reply.header("x-amzn-ErrorType") == "ForbiddenException"


# -- base path mappings ------------------------------------------------------------------------------


def test_named_base_path_is_stripped_before_routing(server):
    """§1.13: `pets` → Pets/prod; resources match the path after the base path; `$context.path` keeps the
    base path instead of the stage; `$context.domainName` is the custom domain."""
    answer = seen(on(server, "api.example.com", "/pets/cats/1"))
    assert answer == {"api": "Pets", "stage": "prod", "path": "/pets/cats/1", "resourcePath": "/{proxy+}",
                      "proxy": "cats/1", "domainName": "api.example.com", "domainPrefix": "api"}
    assert seen(on(server, "api.example.com", "/pets"))["resourcePath"] == "/"
    assert seen(on(server, "api.example.com", "/pets/"))["resourcePath"] == "/"


def test_longest_base_path_wins_and_none_mapping_takes_the_rest(server):
    deeper = seen(on(server, "api.example.com", "/pets/v2/orders"))
    assert (deeper["api"], deeper["stage"], deeper["proxy"], deeper["path"]) == ("Orders", "dev", "orders",
                                                                                 "/pets/v2/orders")
    root = seen(on(server, "api.example.com", "/petshop/x"))  # not the `pets` segment: the (none) mapping
    assert (root["api"], root["proxy"], root["path"]) == ("Orders", "petshop/x", "/petshop/x")
    assert seen(on(server, "api.example.com", "/"))["resourcePath"] == "/"


def test_host_matches_without_port_and_in_any_case(server):
    answer = seen(on(server, f"API.Example.COM:{server.port}", "/pets/a"))
    assert (answer["api"], answer["domainName"]) == ("Pets", f"API.Example.COM:{server.port}")


def test_mapping_without_stage_takes_it_from_the_path(server):
    answer = seen(on(server, "shop.example.com", "/store/beta/toys"))
    assert (answer["api"], answer["stage"], answer["proxy"]) == ("Pets", "beta", "toys")
    assert_forbidden(on(server, "shop.example.com", "/store/nostage/toys"))


def test_unmapped_base_path_is_forbidden(server):
    """No mapping matches and there is no (none) mapping: AWS answers 403 Forbidden."""
    assert_forbidden(on(server, "shop.example.com", "/other/beta/toys"))
    assert_forbidden(on(server, "shop.example.com", "/"))
    assert_forbidden(on(server, "shop.example.com", "/storefront/beta"))


def test_wildcard_domain_matches_one_more_label(server):
    assert seen(on(server, "eu.wild.example.com", "/x"))["api"] == "Pets"
    assert on(server, "wild.example.com", "/x").status == 404  # not a domain: no API here


def test_invoke_urls_still_work_beside_domains(server):
    orders = server.api_ids["Orders"]
    assert seen(server.call("GET", orders, "dev", "/a"))["path"] == "/dev/a"
    assert seen(request(server.port, "GET", f"/restapis/{PETS_ID}/prod/_user_request_/b"))["api"] == "Pets"


def test_control_plane_domains_take_effect_at_once(server):
    """CreateDomainName + CreateBasePathMapping serve immediately; UpdateBasePathMapping moves the base
    path; DeleteBasePathMapping leaves 403; DeleteDomainName makes the name no domain at all."""
    apigw = apigateway_client(server.port)
    orders = server.api_ids["Orders"]
    apigw.create_domain_name(domainName="cp.example.com", endpointConfiguration={"types": ["REGIONAL"]})
    assert_forbidden(on(server, "cp.example.com", "/orders/x"))
    apigw.create_base_path_mapping(domainName="cp.example.com", basePath="orders", restApiId=orders, stage="dev")
    assert seen(on(server, "cp.example.com", "/orders/x"))["api"] == "Orders"
    apigw.update_base_path_mapping(domainName="cp.example.com", basePath="orders", patchOperations=[
        {"op": "replace", "path": "/basePath", "value": "shop"}])
    assert_forbidden(on(server, "cp.example.com", "/orders/x"))
    assert seen(on(server, "cp.example.com", "/shop/x"))["path"] == "/shop/x"
    apigw.delete_base_path_mapping(domainName="cp.example.com", basePath="shop")
    assert_forbidden(on(server, "cp.example.com", "/shop/x"))
    apigw.delete_domain_name(domainName="cp.example.com")
    assert on(server, "cp.example.com", "/shop/x").status == 404


# -- project file errors --------------------------------------------------------------------------------


def validate(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", "validate", str(project)], capture_output=True,
                          text=True, timeout=60, cwd=project.parent)


@pytest.mark.parametrize(("mapping", "message"), [
    ({"api": "Nope!", "stage": "dev"}, "domains.d.example.com.mappings.0.api: no API of this project has the id or "
                                       "title 'Nope!'"),
    ({"api": "Orders", "stage": "prod"}, "domains.d.example.com.mappings.0.stage: the API 'Orders' has no stage "
                                         "'prod' (its stages: dev)"),
    ({"base_path": "a//b", "api": "Orders"}, "domains.d.example.com.mappings.0.base_path: path segments"),
    ({"api": "Orders", "color": "red"}, "domains.d.example.com.mappings.0.color: unknown key"),
])
def test_bad_mappings_exit_2_with_file_line_and_field(tmp_path, mapping, message):
    project = write_project(tmp_path, {"d.example.com": {"mappings": [mapping]}})
    project.write_text(project.read_text().replace(", ", ",\n"))  # one key per line: the line is the key's
    result = validate(project)
    assert result.returncode == 2, result.stderr
    assert f"{project}:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


# -- HTTPS and SNI --------------------------------------------------------------------------------------------


@dataclass
class Pki:
    ca: Path
    files: dict[str, tuple[Path, Path]]  # name → (certificate, key)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A self-signed CA and a leaf certificate signed by it for each name."""
    workdir = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apiway test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    (workdir / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files = {}
    for name in ("localhost", "secure.example.com", "uploaded.example.com"):
        key = _key()
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        files[name] = (workdir / f"{name}.crt", workdir / f"{name}.key")
        files[name][0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[name][1].write_bytes(_pem_key(key))
    return Pki(workdir / "ca.pem", files)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("tls")
    cert, key = pki.files["secure.example.com"]
    project = write_project(workdir, {"secure.example.com": {
        "mappings": [{"api": "Orders", "stage": "dev"}], "tls": {"cert": str(cert), "key": str(key)}}})
    default_cert, default_key = pki.files["localhost"]
    # HTTPS is the native front-end's: named last, it wins over a suite-wide `--server uvicorn`
    running = Server(project, workdir / "state.db", ["--tls-cert", str(default_cert), "--tls-key", str(default_key),
                                                     "--server", "native"])
    yield running
    running.stop()


def https(server: Server, pki: Pki, sni: str, path: str, host: str | None = None) -> tuple[str, int, dict]:
    """A request over TLS naming `sni` and trusting only the test CA: (the served certificate's name,
    status, body)."""
    context = ssl.create_default_context(cafile=str(pki.ca))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=sni) as tls:
        served = dict(item[0] for item in tls.getpeercert()["subject"])["commonName"]
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host or sni}\r\nConnection: close\r\n\r\n".encode())
        resp = http.client.HTTPResponse(tls)
        resp.begin()
        return served, resp.status, json.loads(resp.read())


def test_https_serves_each_domain_its_own_certificate(tls_server, pki):
    served, status, body = https(tls_server, pki, "secure.example.com", "/a")
    assert (served, status, body["api"]) == ("secure.example.com", 200, "Orders")


def test_https_default_certificate_for_other_names(tls_server, pki):
    orders = tls_server.api_ids["Orders"]
    served, status, body = https(tls_server, pki, "localhost", "/dev/x", host=f"{orders}.execute-api.localhost")
    assert (served, status, body["path"]) == ("localhost", 200, "/dev/x")
    assert "https://" in tls_server.output


def test_control_plane_certificate_is_served_by_sni(tls_server, pki):
    """CreateDomainName's certificateBody / certificatePrivateKey are served for that name at once."""
    import boto3

    cert, key = pki.files["uploaded.example.com"]
    apigw = boto3.client("apigateway", endpoint_url=f"https://localhost:{tls_server.port}", region_name="us-east-1",
                         aws_access_key_id="test", aws_secret_access_key="test", verify=str(pki.ca))
    apigw.create_domain_name(domainName="uploaded.example.com", certificateName="uploaded",
                             certificateBody=cert.read_text(), certificatePrivateKey=key.read_text())
    apigw.create_base_path_mapping(domainName="uploaded.example.com", basePath="(none)",
                                   restApiId=tls_server.api_ids["Orders"], stage="dev")
    served, status, body = https(tls_server, pki, "uploaded.example.com", "/z")
    assert (served, status, body["domainName"]) == ("uploaded.example.com", 200, "uploaded.example.com")


def test_untrusted_name_fails_the_handshake(tls_server, pki):
    """A client checking the name gets the default certificate for an unknown name, which does not match."""
    with pytest.raises(ssl.SSLCertVerificationError):
        https(tls_server, pki, "unknown.example.com", "/")


def serve_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", "serve", *args, "--state", str(tmp_path / "s.db"),
                           "--port", "1"], capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_bad_certificate_files_exit_2_naming_the_file(tmp_path, pki):
    cert, key = pki.files["localhost"]
    other_key = pki.files["secure.example.com"][1]
    missing = tmp_path / "missing.pem"
    for args, message in [
        (["--tls-cert", str(missing), "--tls-key", str(key)], f"{missing}: cannot read it"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)], f"{other_key} is not the private key of the "
                                                                 f"certificate in {cert}"),
        (["--tls-cert", str(key), "--tls-key", str(key)], f"{key}: no PEM certificate"),
        (["--tls-cert", str(cert)], "--tls-cert and --tls-key go together"),
    ]:
        result = serve_cli(tmp_path, *args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "s.db").exists()


def test_bad_domain_certificate_in_project_exits_2_with_location(tmp_path, pki):
    cert = pki.files["secure.example.com"][0]
    key = pki.files["localhost"][1]
    project = write_project(tmp_path, {"d.example.com": {"mappings": [], "tls": {"cert": str(cert), "key": str(key)}}})
    result = validate(project)
    assert result.returncode == 2
    assert f"{project}:1: domains.d.example.com.tls.key: {key} is not the private key" in result.stderr
