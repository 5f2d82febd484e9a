"""TestInvokeAuthorizer: run an authorizer of the API as it is now (not as deployed) once on a request made
from the call — its result cache neither read nor filled — and report what it decided, with an execution
log worded like AWS's. A valid answer is clientStatus 200 whatever its policy allows: the policy is
reported, not applied to any method."""

from __future__ import annotations

import time
from typing import Any

import orjson

from apiway.auth.trial import Trial
from apiway.control.operations.authorizers import MISSING
from apiway.control.operations.test_invoke import (
    TEST_DEPLOYMENT,
    TEST_STAGE,
    _java_date,
    _java_map,
    _request_headers,
)
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.core import request_ids
from apiway.core.http import HttpRequest
from apiway.store.deployments import stage_record

_SHOWN = 6  # the execution log shows only the last characters of identities and principals


@operation("TestInvokeAuthorizer")
async def test_invoke_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    authorizer_id = cp.part(definition["authorizers"], p["authorizerId"], MISSING)["id"]
    path, _, query = (p.get("pathWithQueryString") or "/").partition("?")
    request = HttpRequest("GET", "/" + path.lstrip("/"), query, _request_headers(p), (p.get("body") or "").encode())
    stage = stage_record(definition["restApi"]["id"], TEST_STAGE, TEST_DEPLOYMENT, p.get("stageVariables") or {})
    request_id = request_ids.request_id()
    started = time.monotonic()
    trial = await cp.runtime.test_invoke_authorizer(definition, stage, authorizer_id, request, request_id)
    answer: dict[str, Any] = {"clientStatus": trial.status,
                              "log": _log(cp, authorizer_id, request_id, trial),
                              "latency": int((time.monotonic() - started) * 1000)}
    if trial.result is not None and trial.payload is not None:
        output = orjson.loads(trial.payload)
        answer["principalId"] = trial.result.context["principalId"]
        answer["policy"] = orjson.dumps(output["policyDocument"]).decode()
        answer["authorization"] = {k: [_text(v)] for k, v in (output.get("context") or {}).items()}
    if trial.claims is not None:
        answer["claims"] = trial.claims
    return answer


def _log(cp: ControlPlane, authorizer_id: str, request_id: str, trial: Trial) -> str:
    steps = [f"Starting authorizer: {authorizer_id} for request: {request_id}"]
    if trial.identity is not None:
        steps.append(f"Incoming identity: {_identity(trial.identity)}")
    if trial.event is not None:
        uri = (f"https://lambda.{cp.region}.amazonaws.com/2015-03-31/functions/"
               f"arn:aws:lambda:{cp.region}:{cp.account_id}:function:{trial.function}/invocations")
        steps += [f"Endpoint request URI: {uri}",
                  f"Endpoint request body after transformations: {orjson.dumps(trial.event).decode()}",
                  f"Sending request to {uri}"]
    if trial.status == 401:
        steps += [f"Unauthorized request: {request_id}", "Unauthorized"]
    else:
        if trial.payload is not None:
            steps.append(f"Authorizer result body before parsing: {trial.payload.decode('utf-8', 'replace')}")
        if trial.status != 200:
            steps += [f"Execution failed due to configuration error: {trial.failure}",
                      "AuthorizerConfigurationException"]
        else:
            if trial.result is not None:
                steps.append(f"Using valid authorizer policy for principal: "
                             f"{_masked(trial.result.context['principalId'])}")
            steps.append("Successfully completed authorizer execution")
    stamp = _java_date(time.time())
    return "".join([f"Execution log for request {request_id}\n", *(f"{stamp} : {step}\n" for step in steps)])


def _identity(identity: str | dict[str, Any]) -> str:
    """A TOKEN or Cognito authorizer's token, or a REQUEST authorizer's `{source=value, …}`, masked."""
    if isinstance(identity, str):
        return _masked(identity)
    return _java_map({source: _masked(str(value or "")) for source, value in identity.items()})


def _masked(value: str) -> str:
    return "*" * max(0, len(value) - _SHOWN) + value[-_SHOWN:]


def _text(value: Any) -> str:
    """A context value as `$context.authorizer.{key}` renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
