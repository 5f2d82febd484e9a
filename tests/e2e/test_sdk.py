"""Generated SDKs end to end: a real `apiway serve` with a REST API (a Lambda proxy echoing what it got; a
method that needs an API key of a usage plan, AWS_IAM methods), GetSdk through boto3, the JavaScript SDK
loaded by Node as a page loads it and the Python client imported, each calling the API; GetSdkTypes and
GetSdkType; GetSdk's errors; `apiway sdk`."""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from botocore.exceptions import ClientError

from tests.support import REPO, Server, apigateway_client

API = "sdkapi0001"
STAGE = "prod"
API_KEY = "sdk-test-key-0123456789abcdef"
ACCESS_KEY, SECRET_KEY = "AKIASDKTEST000000001", "sdk-secret"
FUNCTION_ARN = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                "arn:aws:lambda:us-east-1:123456789012:function:Echo/invocations")

ECHO = """import json

def handler(event, context):
    identity = event["requestContext"].get("identity") or {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({
        "method": event["httpMethod"], "resource": event["resource"], "query": event.get("queryStringParameters"),
        "pathParameters": event.get("pathParameters"), "apiKey": identity.get("apiKey"),
        "accessKey": identity.get("accessKey"), "trace": headers.get("x-trace-id"), "extra": headers.get("x-extra"),
        "contentType": headers.get("content-type"), "body": event.get("body")})}
"""


def method(security: list | None = None, parameters: list | None = None) -> dict:
    return {"security": security or [], "parameters": parameters or [], "responses": {"200": {"description": "OK"}},
            "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": FUNCTION_ARN}}


def parameter(name: str, where: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": {"type": "string"}}


OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "Pet Shop", "version": "1"},
    "components": {"securitySchemes": {
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
        "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"},
    }},
    "paths": {
        "/pets": {
            "get": method(parameters=[parameter("type", "query", True), parameter("page", "query")]),
            "post": method(security=[{"api_key": []}]),
        },
        "/pets/{id}": {"get": method(parameters=[parameter("id", "path", True), parameter("X-Trace-Id", "header")])},
        "/files/{key+}": {"get": method(parameters=[parameter("key", "path", True)])},
        "/signed": {"get": method(security=[{"sigv4": []}]), "post": method(security=[{"sigv4": []}])},
    },
}

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:us-east-1:*:{API}/*"}]}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("sdk")
    (workdir / "api.json").write_text(json.dumps(OPENAPI))
    (workdir / "echo.py").write_text(ECHO)
    project = {
        "apis": [{"openapi": "api.json", "id": API, "stages": {STAGE: {}}}],
        "functions": {"Echo": {"handler": "echo.py:handler", "mode": "inline"}},
        "iam": {"identities": [{"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
                                "arn": "arn:aws:iam::123456789012:user/sdk", "policies": [ALLOW_ALL]}]},
    }
    (workdir / "apiway.yaml").write_text(json.dumps(project))
    (workdir / "state").mkdir()
    server = Server(workdir / "apiway.yaml", workdir / "state" / "state.db")
    try:
        client = apigateway_client(server.port)
        plan = client.create_usage_plan(name="sdk", apiStages=[{"apiId": API, "stage": STAGE}])["id"]
        key = client.create_api_key(name="sdk", enabled=True, value=API_KEY)["id"]
        client.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def apigw(gateway: Server):
    return apigateway_client(gateway.port)


def unpacked(body: bytes, into: Path) -> Path:
    """The archive's files under `into`; its one top folder."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        assert len(tops) == 1, tops
        archive.extractall(into)
    return into / tops.pop()


def echoed(answer: dict) -> dict:
    """What the echo function saw, from a JavaScript result (data already parsed)."""
    assert answer["ok"] and answer["status"] == 200, answer
    return answer["data"]


# -- the JavaScript SDK ------------------------------------------------------------------------------


def test_javascript_sdk_from_get_sdk_runs_in_node(apigw, tmp_path: Path) -> None:
    answer = apigw.get_sdk(restApiId=API, stageName=STAGE, sdkType="javascript")
    assert answer["contentType"] == "application/octet-stream"
    assert re.fullmatch(r'attachment; filename="javascript_\d{4}-\d\d-\d\d_\d\d-\d\dZ\.zip"',
                        answer["contentDisposition"])
    body = answer["body"].read()
    sdk = unpacked(body, tmp_path)
    assert sdk.name == "apiGateway-js-sdk"
    assert {"apigClient.js", "README.md", "lib/axios/dist/axios.standalone.js", "lib/CryptoJS/rollups/sha256.js",
            "lib/CryptoJS/rollups/hmac-sha256.js", "lib/CryptoJS/components/hmac.js",
            "lib/CryptoJS/components/enc-base64.js", "lib/url-template/url-template.js",
            "lib/apiGatewayCore/sigV4Client.js", "lib/apiGatewayCore/apiGatewayClient.js",
            "lib/apiGatewayCore/simpleHttpClient.js", "lib/apiGatewayCore/utils.js"} <= {
        str(p.relative_to(sdk)) for p in sdk.rglob("*") if p.is_file()}
    # The same deployment gives the same archive.
    assert apigw.get_sdk(restApiId=API, stageName=STAGE, sdkType="javascript")["body"].read() == body

    run = subprocess.run(["node", str(REPO / "tests/e2e/fixtures/sdk_client.js"), str(sdk), API_KEY, ACCESS_KEY,
                          SECRET_KEY], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)

    assert results["scripts"][-1] == "apigClient.js"
    assert results["methods"] == ["filesKeyGet", "petsGet", "petsIdGet", "petsPost", "signedGet", "signedPost"]
    listed = echoed(results["list"])
    assert listed["method"] == "GET" and listed["resource"] == "/pets"
    assert listed["query"] == {"type": "dog", "page": "2", "extra": "a b&c"}
    assert listed["extra"] == "yes" and listed["apiKey"] is None
    assert results["list"]["headers"]["content-type"] == "application/json"

    assert results["postWithoutKey"]["ok"] is False
    assert results["postWithoutKey"]["status"] == results["postWithoutKey"]["responseStatus"] == 403
    assert results["postWithoutKey"]["data"] == {"message": "Forbidden"}
    posted = echoed(results["postWithKey"])
    assert posted["method"] == "POST" and posted["apiKey"] == API_KEY
    assert json.loads(posted["body"]) == {"name": "rex", "tags": ["good", "boy"]}
    assert posted["contentType"] == "application/json"

    one = echoed(results["one"])
    assert one["pathParameters"] == {"id": "rex-1"} and one["trace"] == "trace-7"
    assert echoed(results["greedy"])["pathParameters"] == {"key": "docs/read%20me.txt"}

    signed = echoed(results["signedGet"])
    assert signed["accessKey"] == ACCESS_KEY and signed["query"] == {"a": "x y", "b": "2"}
    signed_post = echoed(results["signedPost"])
    assert signed_post["accessKey"] == ACCESS_KEY and json.loads(signed_post["body"]) == {"signed": "ünïcode ✓"}
    assert results["signedUnsigned"]["status"] == 403
    assert results["signedUnsigned"]["data"] == {"message": "Missing Authentication Token"}
    assert results["forged"]["status"] == 403
    assert "signature we calculated does not match" in results["forged"]["data"]["message"]

    assert results["missing"] == "type must be defined"


BROWSER_CALLS = """async ([apiKey, accessKey, secretKey]) => {
    const keyed = apigClientFactory.newClient({apiKey: apiKey});
    const signed = apigClientFactory.newClient({accessKey: accessKey, secretKey: secretKey, region: 'us-east-1'});
    const posted = await keyed.petsPost({}, {name: 'rex'});
    const got = await signed.signedPost({}, {signed: true}, {queryParams: {q: 'a b'}});
    const refused = await apigClientFactory.newClient().petsPost({}, {}).catch((error) => error);
    return {posted: posted.data, got: got.data, refused: [refused.status, refused.data]};
}"""


def test_javascript_sdk_runs_in_a_browser(apigw, gateway: Server, tmp_path: Path) -> None:
    """A page loads the SDK with AWS's script tags (served, for this test, from the gateway's own origin, so no
    CORS set-up is needed) and calls the API: fetch, the browser's own Host header, SigV4 and an API key."""
    from tests.e2e.browser import chromium

    sdk = unpacked(apigw.get_sdk(restApiId=API, stageName=STAGE, sdkType="javascript")["body"].read(), tmp_path)
    tags = re.findall(r'<script type="text/javascript" src="[^"]+"></script>', (sdk / "README.md").read_text())
    (sdk / "index.html").write_text("<!doctype html><html><body>" + "".join(tags) + "</body></html>")
    origin = f"http://localhost:{gateway.port}"
    with chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.route(f"{origin}/site/**", lambda route: route.fulfill(
            path=str(sdk / route.request.url[len(f"{origin}/site/"):])))
        page.goto(f"{origin}/site/index.html")
        results = page.evaluate(BROWSER_CALLS, [API_KEY, ACCESS_KEY, SECRET_KEY])
    assert not problems
    assert results["posted"]["apiKey"] == API_KEY and json.loads(results["posted"]["body"]) == {"name": "rex"}
    assert results["got"]["accessKey"] == ACCESS_KEY and results["got"]["query"] == {"q": "a b"}
    assert results["refused"] == [403, {"message": "Forbidden"}]


# -- the Python client --------------------------------------------------------------------------------


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"apig_client_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does: its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_python_client_from_get_sdk_calls_the_api(apigw, tmp_path: Path) -> None:
    answer = apigw.get_sdk(restApiId=API, stageName=STAGE, sdkType="python")
    assert answer["contentType"] == "application/octet-stream"
    assert answer["contentDisposition"].startswith('attachment; filename="python_')
    sdk = unpacked(answer["body"].read(), tmp_path)
    assert sdk.name == "apiGateway-python-sdk"
    module = load_module(sdk / "apig_client.py")
    client_class = module.ApigClient

    signature = inspect.signature(client_class.pets_get)
    assert signature.parameters["type"].default is inspect.Parameter.empty
    assert signature.parameters["page"].default is None
    assert signature.parameters["type"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "body" not in signature.parameters and "body" in inspect.signature(client_class.pets_post).parameters

    anonymous, keyed = client_class(), client_class(api_key=API_KEY)
    listed = anonymous.pets_get(type="dog", page="2", extra_query={"extra": "a b&c"},
                                extra_headers={"X-Extra": "yes"})
    assert listed.status == 200 and listed.headers["content-type"] == "application/json"
    assert listed.json()["query"] == {"type": "dog", "page": "2", "extra": "a b&c"}
    assert listed.json()["extra"] == "yes"

    with pytest.raises(module.ApiError) as refused:
        anonymous.pets_post(body={"name": "rex"})
    assert refused.value.status == 403 and refused.value.response.json() == {"message": "Forbidden"}
    posted = keyed.pets_post(body={"name": "rex"}).json()
    assert posted["apiKey"] == API_KEY and json.loads(posted["body"]) == {"name": "rex"}
    assert posted["contentType"] == "application/json"
    assert keyed.pets_post(body=b"raw bytes", extra_headers={"Content-Type": "text/plain"}).json()["body"] == "raw bytes"

    one = keyed.pets_id_get(id="rex-1", x_trace_id="trace-7").json()
    assert one["pathParameters"] == {"id": "rex-1"} and one["trace"] == "trace-7"
    assert anonymous.files_key_get(key="docs/read me.txt").json()["pathParameters"] == {"key": "docs/read%20me.txt"}

    signed = client_class(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    got = signed.signed_get(extra_query={"b": "2", "a": "x y"}).json()
    assert got["accessKey"] == ACCESS_KEY and got["query"] == {"a": "x y", "b": "2"}
    assert json.loads(signed.signed_post(body={"signed": "ünïcode ✓"}).json()["body"]) == {"signed": "ünïcode ✓"}
    with pytest.raises(module.ApiError) as unsigned:
        anonymous.signed_get()
    assert unsigned.value.status == 403
    with pytest.raises(module.ApiError) as forged:
        client_class(access_key=ACCESS_KEY, secret_key="wrong").signed_get()
    assert "signature we calculated does not match" in forged.value.response.json()["message"]


def test_python_client_type_checks(apigw, tmp_path: Path) -> None:
    sdk = unpacked(apigw.get_sdk(restApiId=API, stageName=STAGE, sdkType="python")["body"].read(), tmp_path)
    (tmp_path / "use.py").write_text("from apig_client import ApigClient\n\n"
                                     "ApigClient(api_key='k').pets_id_get(id='1', x_trace_id=None).json()\n")
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--no-incremental",
                              str(sdk / "apig_client.py")], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout
    misuse = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--no-incremental",
                             "-c", "from apig_client import ApigClient\nApigClient().pets_id_get(idx='1')\n"],
                            capture_output=True, text=True, timeout=300, cwd=sdk)
    assert misuse.returncode == 1 and 'Unexpected keyword argument "idx"' in misuse.stdout, misuse.stdout


# -- GetSdkTypes, GetSdkType and GetSdk's errors ---------------------------------------------------------


def test_sdk_types_list_what_is_generated(apigw) -> None:
    types = apigw.get_sdk_types()["items"]
    assert [t["id"] for t in types] == ["javascript", "python"]
    assert all(t["friendlyName"] and t["description"] and t["configurationProperties"] == [] for t in types)
    first = apigw.get_sdk_types(limit=1)
    assert [t["id"] for t in first["items"]] == ["javascript"]
    assert [t["id"] for t in apigw.get_sdk_types(limit=1, position=first["position"])["items"]] == ["python"]
    assert apigw.get_sdk_type(id="python")["friendlyName"] == "Python"


def error_of(call, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


@pytest.mark.parametrize("sdk_type", ["android", "java", "objectivec", "swift", "ruby"])
def test_aws_sdk_types_apiway_does_not_generate_are_not_found(apigw, sdk_type: str) -> None:
    message = f"SDK type {sdk_type} is not generated by apiway (it generates javascript and python)"
    assert error_of(apigw.get_sdk, restApiId=API, stageName=STAGE, sdkType=sdk_type) == (
        404, "NotFoundException", message)
    assert error_of(apigw.get_sdk_type, id=sdk_type) == (404, "NotFoundException", message)


def test_get_sdk_errors(apigw) -> None:
    assert error_of(apigw.get_sdk, restApiId=API, stageName=STAGE, sdkType="cobol") == (
        404, "NotFoundException", "Invalid SDK type specified: cobol (apiway generates javascript and python)")
    assert error_of(apigw.get_sdk, restApiId=API, stageName="nope", sdkType="javascript") == (
        404, "NotFoundException", "Invalid stage identifier specified")
    assert error_of(apigw.get_sdk, restApiId="nope000000", stageName=STAGE, sdkType="javascript") == (
        404, "NotFoundException", "Invalid API identifier specified 123456789012:nope000000")


# -- apiway sdk -----------------------------------------------------------------------------------------


def apiway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_cli_writes_the_sdk_into_a_folder(gateway: Server, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{gateway.port}"
    made = apiway("sdk", "--api", API, "--stage", STAGE, "--type", "javascript", "--out", "web/sdk",
                  "--endpoint", endpoint, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "web/sdk/apigClient.js").is_file()
    assert (tmp_path / "web/sdk/lib/apiGatewayCore/sigV4Client.js").is_file()
    assert "web/sdk/apigClient.js" in made.stdout and "files in web/sdk" in made.stderr

    made = apiway("sdk", "--api", API, "--stage", STAGE, "--type", "python", "--out", "client",
                  "--endpoint", endpoint, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    module = load_module(tmp_path / "client/apig_client.py")
    assert module.ApigClient(api_key=API_KEY).pets_id_get(id="7").json()["pathParameters"] == {"id": "7"}

    missing = apiway("sdk", "--api", API, "--stage", "nope", "--type", "python", "--out", "x", "--endpoint", endpoint,
                     cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "apiway: NotFoundException: Invalid stage identifier specified"
    assert not (tmp_path / "x").exists()
