"""Mapping templates through real requests: VTL request and response templates on MOCK, HTTP and
AWS (Lambda) integrations, `$context` overrides, content handling, passthrough and template failures."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import orjson
import pytest

from tests.e2e.echo_backend import EchoServer, header_values
from tests.support import Server

FIXTURE = Path(__file__).parent / "fixtures" / "templates"
API = "templates01"


@pytest.fixture(scope="module")
def gateway(backend: EchoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("templates")
    shutil.copytree(FIXTURE, work, dirs_exist_ok=True)
    (work / "apiway.yaml").write_text((FIXTURE / "apiway.yaml.in").read_text().replace("BACKEND", backend.address))
    (work / "state").mkdir()
    server = Server(work / "apiway.yaml", work / "state" / "state.db")
    yield server
    server.stop()


def call(gateway: Server, method: str, path: str, **kw):
    return gateway.call(method, API, "dev", path, **kw)


def test_mock_response_template_reads_params_context_and_stage_variables(gateway):
    """§4.2/§4.4: `$input.params()` (path → querystring → header), `$context.stage`, `$stageVariables`
    in a MOCK response template (recorded row 3: a path parameter echoed by the template)."""
    reply = call(gateway, "GET", "/items/42?q=a", headers={"X-Foo": "bar"})
    assert reply.status == 200
    assert reply.json() == {"id": 42, "q": "a", "foo": "bar", "stage": "dev", "paths": 1, "color": "blue"}
    assert reply.header("Content-Type") == "application/json"


def test_response_override_set_in_request_template(gateway):
    """§4.6 and recorded row 5: status 444 and header `foo: bar` set by the MOCK request template reach
    the client, and the response template can read them; `{statusCode: 200}` (unquoted key) is accepted."""
    reply = call(gateway, "GET", "/override")
    assert reply.status == 444
    assert reply.header("foo") == "bar"
    assert reply.json() == {"statusOverride": "444", "fooHeader": "bar"}


def test_http_request_template_and_request_overrides(gateway, backend: EchoServer):
    """§4.2/§4.6: the request template builds the backend body from `$input.path`, `$input.json`,
    `#foreach` and Java String methods; `requestOverride` adds a header and a query parameter; the
    response template reads the backend's JSON answer."""
    body = {"name": "rex", "tags": ["a", "b", "c"], "nested": {"x": [1, 2]}}
    reply = call(gateway, "POST", "/transform?q=hello", body=orjson.dumps(body),
                 headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    seen = backend.requests[-1]
    assert orjson.loads(seen["body"]) == {"name": "rex", "upper": "REX", "tags": ["a", "b", "c"],
                                          "nested": {"x": [1, 2]}, "q": "hello"}
    assert header_values(seen, "X-Override") == ["yes"]
    assert parse_qs(seen["query"]) == {"extra": ["1"]}
    assert reply.json() == {"backendSaw": "POST /transformed", "length": seen["body_length"]}


def test_http_error_response_template_and_status_override(gateway):
    """§1.5/§4.6: a backend 4xx selects the `4\\d{2}` integration response, whose template overrides
    the status (418)."""
    reply = call(gateway, "POST", "/transform?echo_status=404", body=b'{"name": "x", "tags": []}',
                 headers={"Content-Type": "application/json"})
    assert reply.status == 418
    assert reply.json() == {"problem": "backend said POST"}


def test_convert_to_text_base64_encodes_a_binary_body(gateway, backend: EchoServer):
    """§1.4.4: a binary payload (Content-Type in binaryMediaTypes) with CONVERT_TO_TEXT reaches the
    backend base64-encoded."""
    payload = bytes(range(256))
    reply = call(gateway, "POST", "/binary", body=payload, headers={"Content-Type": "application/octet-stream"})
    assert reply.status == 200
    assert backend.requests[-1]["body"] == base64.b64encode(payload).decode()


def test_convert_to_binary_decodes_a_base64_backend_answer(gateway):
    """§1.4.4: integration-response CONVERT_TO_BINARY turns the backend's base64 text into bytes."""
    reply = call(gateway, "GET", "/to-binary", headers={"Accept": "application/octet-stream"})
    assert reply.status == 200
    assert reply.body == base64.b64decode("AAEC/w==")


@pytest.mark.parametrize(
    ("path", "content_type", "status", "backend_body"),
    [
        ("/passthrough/when-no-templates", "application/json", 200, '{"templated": true}'),
        ("/passthrough/when-no-templates", "text/plain", 415, None),
        ("/passthrough/when-no-match", "application/json", 200, '{"templated": true}'),
        ("/passthrough/when-no-match", "text/plain", 200, "raw body"),
        ("/passthrough/no-templates", "text/plain", 200, "raw body"),
    ],
)
def test_passthrough_behaviours(gateway, backend: EchoServer, path: str, content_type: str, status: int,
                                backend_body: str | None):
    """§1.4.3: WHEN_NO_TEMPLATES applies a matching template, passes through when there are no
    templates and answers 415 otherwise; WHEN_NO_MATCH passes unmatched content types through."""
    before = len(backend.requests)
    reply = call(gateway, "POST", path, body=b"raw body", headers={"Content-Type": content_type})
    assert reply.status == status, reply.body
    if backend_body is None:
        assert len(backend.requests) == before  # refused before reaching the backend
        assert reply.json() == {"message": "Unsupported Media Type"}
    else:
        assert backend.requests[-1]["body"] == backend_body


@pytest.mark.parametrize(("content_type", "status"), [("application/json", 200), ("text/plain", 415)])
def test_passthrough_never(gateway, backend: EchoServer, content_type: str, status: int):
    """§1.4.3: NEVER applies the matching template and answers 415 for any other Content-Type."""
    reply = call(gateway, "POST", "/never", body=b"{}", headers={"Content-Type": content_type})
    assert reply.status == status
    if status == 200:
        assert orjson.loads(backend.requests[-1]["body"]) == {"templated": True}
    else:
        assert reply.json() == {"message": "Unsupported Media Type"}


def test_template_failure_is_a_500_not_a_crash(gateway):
    """A template that fails while rendering (`$util.parseJson` of invalid JSON) gives AWS's 500 and the
    gateway keeps serving."""
    reply = call(gateway, "GET", "/broken")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}
    assert call(gateway, "GET", "/items/1").status == 200


def test_lambda_custom_integration(gateway):
    """§1.4/§1.5: AWS (non-proxy) Lambda: the request template is the event; a success takes the default
    response; a function error's errorMessage selects `Bad mood.*` and its template reads the error."""
    ok = call(gateway, "POST", "/lambda?mood=happy", body=b'{"who": "Ann"}', headers={"Content-Type": "application/json"})
    assert ok.status == 200 and ok.json() == {"greeting": "Hello, Ann!"}
    bad = call(gateway, "POST", "/lambda?mood=grumpy", body=b'{"who": "Bob"}', headers={"Content-Type": "application/json"})
    assert bad.status == 400
    assert bad.json() == {"error": "Bad mood: Bob is grumpy", "type": "ValueError"}


def test_template_syntax_error_is_refused_at_deploy(tmp_path: Path):
    """A template that does not parse is rejected before anything is served, naming the method,
    the template and its line and column."""
    (tmp_path / "api.yaml").write_text("""openapi: 3.0.1
info: {title: Bad}
paths:
  /x:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: |-
            {"statusCode": 200}
            #if($x
""")
    result = subprocess.run([sys.executable, "-m", "apiway", "serve", "api.yaml", "--port", "1"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "requestTemplates.application/json" in result.stderr and "line 2" in result.stderr
    assert "Traceback" not in result.stderr
