"""TestInvokeMethod: run one method of the API as it is now (not as deployed) through the real
pipeline, and answer with its response and an execution log worded like AWS's."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from apiway.control.operations.resources import load_resource
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.core import request_ids
from apiway.core.errors import DeployError
from apiway.core.http import HttpResponse
from apiway.store.deployments import stage_record

# What AWS's test invocations report as `$context.stage` and `$context.deploymentId`.
TEST_STAGE = "test-invoke-stage"
TEST_DEPLOYMENT = "test-invoke-deployment-id"
# Pipeline headers the test-invoke answer leaves out.
_HIDDEN = {"x-amzn-requestid", "x-amz-apigw-id"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@operation("TestInvokeMethod")
async def test_invoke_method(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    http_method = p["httpMethod"]
    cp.method(resource, http_method)
    path, _, query = (p.get("pathWithQueryString") or resource["path"]).partition("?")
    path = "/" + path.lstrip("/")
    headers = _request_headers(p)
    body = p.get("body") or ""
    stage = stage_record(definition["restApi"]["id"], TEST_STAGE, TEST_DEPLOYMENT, p.get("stageVariables") or {})
    failures: list[str] = []
    started = time.monotonic()
    try:
        response = await cp.runtime.test_invoke(definition, stage, resource, http_method, path, query, headers,
                                              body.encode(), failures)
    except DeployError as exc:  # the method cannot be compiled: AWS answers as for a configuration error
        failures.append(f"Execution failed due to configuration error: {exc}")
        response = HttpResponse(500, [("x-amzn-ErrorType", "InternalServerErrorException")],
                                orjson.dumps({"message": "Internal server error"}))
    latency = int((time.monotonic() - started) * 1000)
    shown = _response_headers(response)
    request_id = (next((v for k, v in response.headers if k.lower() == "x-amzn-requestid"), None)
                  or request_ids.request_id())
    await response.read_body()  # a long HTTP_PROXY answer arrives as a stream
    text = response.body.decode("utf-8", "replace")
    steps = [
        f"Starting execution for request: {request_id}",
        f"HTTP Method: {http_method}, Resource Path: {path}",
        f"Method request path: {_java_map(_path_params(resource['path'], path))}",
        f"Method request query string: {_java_map(dict(parse_qsl(query, keep_blank_values=True)))}",
        f"Method request headers: {_java_map(dict(headers))}",
        f"Method request body before transformations: {body}",
        *(failures or (f"Method response body after transformations: {text}",
                       f"Method response headers: {_java_map({k: v[-1] for k, v in shown.items()})}",
                       "Successfully completed execution")),
        f"Method completed with status: {response.status}",
    ]
    stamp = _java_date(time.time())
    log = "".join([f"Execution log for request {request_id}\n", *(f"{stamp} : {step}\n" for step in steps)])
    return {"status": response.status, "body": text, "headers": {k: v[-1] for k, v in shown.items()},
            "multiValueHeaders": shown, "log": log, "latency": latency}


def _request_headers(p: dict[str, Any]) -> list[tuple[str, str]]:
    multi: dict[str, list[str]] = p.get("multiValueHeaders") or {}
    single = [(k, v) for k, v in (p.get("headers") or {}).items() if k not in multi]
    return single + [(k, v) for k, values in multi.items() for v in values]


def _response_headers(response: HttpResponse) -> dict[str, list[str]]:
    """The method response's headers by name; a gateway error shows only its own (AWS leaves out the
    Content-Type it sends on the wire)."""
    gateway_error = any(k.lower() == "x-amzn-errortype" for k, _ in response.headers)
    shown: dict[str, list[str]] = {}
    for name, value in response.headers:
        lower = name.lower()
        if lower not in _HIDDEN and not (gateway_error and lower == "content-type"):
            shown.setdefault(name, []).append(value)
    return shown


def _path_params(template: str, path: str) -> dict[str, str]:
    """The resource's path parameters read from the test path; none when the path does not fit it."""
    names = template.strip("/").split("/")
    values = path.strip("/").split("/")
    params: dict[str, str] = {}
    for i, name in enumerate(names):
        if name.endswith("+}"):
            rest = values[i:]
            return {**params, name[1:-2]: unquote("/".join(rest))} if rest else {}
        if i >= len(values):
            return {}
        if name.startswith("{"):
            params[name[1:-1]] = unquote(values[i])
        elif name != values[i]:
            return {}
    return params if len(values) == len(names) else {}


def _java_map(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in values.items()) + "}"


def _java_date(epoch: float) -> str:
    """`Tue Nov 25 08:51:00 UTC 2025`, the timestamp AWS's execution log lines start with."""
    t = time.gmtime(epoch)
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d} UTC {t.tm_year}")
