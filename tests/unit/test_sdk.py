"""SDK generation without a server: AWS's method names, the parameters each method takes, generated code
that parses whatever the API's names are, the archive's round trip, and the JavaScript helpers (hashing,
URL templates) checked against Node's own crypto."""

from __future__ import annotations

import inspect
import io
import json
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from apiway.model.documents import parse_text
from apiway.openapi.importer import import_openapi
from apiway.sdk.archive import UnsafeArchive, unpack, zipped
from apiway.sdk.generate import generate_sdk
from apiway.sdk.operations import method_name, operations, python_name

LIB = Path(__file__).resolve().parents[2] / "src/apiway/sdk/js_lib"


@pytest.mark.parametrize(("path", "verb", "name"), [
    ("/", "GET", "rootGet"),
    ("/pets", "POST", "petsPost"),
    ("/pets/{petId}", "GET", "petsPetIdGet"),
    ("/user-info", "GET", "userInfoGet"),
    ("/user-proxy/{proxy+}", "OPTIONS", "userProxyProxyOptions"),
    ("/DoneItGroups", "GET", "doneItGroupsGet"),
    ("/oneapp/v1/core", "POST", "oneappV1CorePost"),
    ("/snake_case/x.json", "DELETE", "snakeCaseXJsonDelete"),
])
def test_method_names_are_aws_javascript_names(path: str, verb: str, name: str) -> None:
    assert method_name(path, verb) == name


@pytest.mark.parametrize(("name", "python"), [
    ("petsPetIdGet", "pets_pet_id_get"), ("X-Trace-Id", "x_trace_id"), ("class", "class_"), ("2fa", "_2fa"),
    ("rootGet", "root_get"), ("oneappV1CorePost", "oneapp_v1_core_post"), ("???", "_"), ("aBGet", "a_b_get"),
    ("getHTTPStatus", "get_http_status"),
])
def test_python_names(name: str, python: str) -> None:
    assert python_name(name) == python


def test_python_names_avoid_taken_ones() -> None:
    assert python_name("body", {"body"}) == "body_"
    assert python_name("body", {"body", "body_"}) == "body__"


DOC = """openapi: 3.0.1
info: {title: Odd Names}
paths:
  /a-b:
    get: {x-amazon-apigateway-integration: {type: mock}}
  /a_b:
    get: {x-amazon-apigateway-integration: {type: mock}}
    x-amazon-apigateway-any-method: {x-amazon-apigateway-integration: {type: mock}}
  /2fa/{class}:
    post:
      parameters:
        - {name: class, in: path, required: true, schema: {type: string}}
        - {name: body, in: query, required: true, schema: {type: string}}
        - {name: extra_headers, in: header, schema: {type: string}}
        - {name: self, in: header, schema: {type: string}}
      x-amazon-apigateway-integration: {type: mock}
"""


@pytest.fixture(scope="module")
def odd() -> dict:
    return import_openapi(parse_text(DOC, "odd.yaml"), DOC, "odd.yaml", "odd0000001")


def test_operations_hold_parameters_and_unique_names(odd: dict) -> None:
    ops = {op.name: op for op in operations(odd)}
    assert list(ops) == ["2faClassPost", "aBGet", "aBGet2", "aBAny"]
    post = ops["2faClassPost"]
    assert post.path_params == ["class"] and [p.name for p in post.query] == ["body"]
    assert [p.name for p in post.headers] == ["extra_headers", "self"]
    assert post.required == ["class", "body"]


def files(sdk_type: str, definition: dict) -> dict[str, bytes]:
    body = generate_sdk(sdk_type, definition, "dev", "http://localhost:8080/restapis/odd0000001/dev/_user_request_",
                        "eu-west-1")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_generated_python_compiles_whatever_the_names(odd: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    source = files("python", odd)["apiGateway-python-sdk/apig_client.py"].decode()
    module = types.ModuleType("odd_client")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # as an import does: its dataclasses look it up
    exec(compile(source, "apig_client.py", "exec"), module.__dict__)
    client = module.ApigClient
    assert client.REGION == "eu-west-1" and client.INVOKE_URL.endswith("/odd0000001/dev/_user_request_")
    assert {"_2fa_class_post", "a_b_get", "a_b_get2", "a_b_any"} <= set(vars(client))
    assert list(inspect.signature(client._2fa_class_post).parameters) == [
        "self", "class_", "body_", "extra_headers_", "self_", "body", "extra_headers", "extra_query"]


def test_generated_javascript_parses_whatever_the_names(odd: dict, tmp_path: Path) -> None:
    client = files("javascript", odd)["apiGateway-js-sdk/apigClient.js"].decode()
    assert 'apigClient["2faClassPost"] = operation("POST", "/2fa/{class}"' in client
    assert "aBAny" not in client  # AWS's JavaScript SDK leaves ANY methods out
    (tmp_path / "apigClient.js").write_text(client)
    checked = subprocess.run(["node", "--check", str(tmp_path / "apigClient.js")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in LIB.glob("*.js")))
def test_javascript_helpers_parse(name: str) -> None:
    checked = subprocess.run(["node", "--check", str(LIB / name)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


NODE_CHECKS = r"""
const vm = require('vm'), fs = require('fs'), crypto = require('crypto');
for (const f of ['cryptojs.js', 'url_template.js', 'utils.js']) vm.runInThisContext(fs.readFileSync(process.argv[1] + '/' + f, 'utf8'));
const out = {hashes: [], hmacs: [], base64: []};
for (const s of ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'x'.repeat(1000), 'héllo 😀 wörld']) {
  out.hashes.push([CryptoJS.SHA256(s).toString(CryptoJS.enc.Hex), crypto.createHash('sha256').update(s).digest('hex')]);
  for (const k of ['key', 'k'.repeat(64), 'k'.repeat(100)])
    out.hmacs.push([CryptoJS.HmacSHA256(s, k).toString(), crypto.createHmac('sha256', k).update(s).digest('hex')]);
  const b = CryptoJS.enc.Base64.stringify(CryptoJS.enc.Utf8.parse(s));
  out.base64.push([b, Buffer.from(s).toString('base64'), CryptoJS.enc.Utf8.stringify(CryptoJS.enc.Base64.parse(b)) === s]);
}
const chained = CryptoJS.HmacSHA256('us-east-1', CryptoJS.HmacSHA256('20150830', 'AWS4secret')).toString();
const reference = crypto.createHmac('sha256', crypto.createHmac('sha256', 'AWS4secret').update('20150830').digest())
  .update('us-east-1').digest('hex');
out.chained = [chained, reference];
out.expanded = [
  uritemplate('/pets/{id}/{file+}').expand({id: "a b/c'd", file: 'x y/z.txt'}),
  uritemplate('/{+raw}/{missing}').expand({raw: 'a/b c'}),
];
out.query = apiGateway.core.utils.queryString({b: '2', a: ['y', 'x'], 'sp ace': "it's", none: undefined});
process.stdout.write(JSON.stringify(out));
"""


def test_javascript_helpers_match_node_crypto() -> None:
    run = subprocess.run(["node", "-e", NODE_CHECKS, str(LIB)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert all(mine == node for mine, node in out["hashes"] + out["hmacs"])
    assert all(mine == node and back for mine, node, back in out["base64"])
    assert out["chained"][0] == out["chained"][1]
    assert out["expanded"] == ["/pets/a%20b%2Fc%27d/x%20y/z.txt", "/a/b%20c/"]
    assert out["query"] == "a=x&a=y&b=2&sp%20ace=it%27s"


def test_archive_round_trip_leaves_out_the_top_folder(tmp_path: Path) -> None:
    data = zipped({"sdk/a.js": b"1", "sdk/lib/b.js": b"2"})
    assert data == zipped({"sdk/lib/b.js": b"2", "sdk/a.js": b"1"})
    written = unpack(data, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a.js", "lib/b.js"]
    assert (tmp_path / "out/lib/b.js").read_bytes() == b"2"


@pytest.mark.parametrize("name", ["../evil.js", "sdk/../../evil.js", "/abs.js", "sdk//x.js"])
def test_archive_refuses_paths_outside_the_folder(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sdk/fine.js", b"1")
        archive.writestr(name, b"2")
    with pytest.raises(UnsafeArchive):
        unpack(buffer.getvalue(), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.js").exists()
