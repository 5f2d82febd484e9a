"""Bad input to the control plane gets an AWS-style error, never a 500: every operation of the model is
called with real ids and with mistyped, missing and random members, over real HTTP."""

from __future__ import annotations

import json
import random
import re

import pytest

from apiway.control.protocol import ServiceModel
from tests.support import Server, apigateway_client, request

SEED = 20261125
JUNK = [None, "", "x" * 300, -1, 0, 10**12, 1.5, True, [], {}, ["a"], {"a": "b"}, {"a": 1}, "../../etc", "%00",
        "{proxy+}", "*", "😀"]


def _valid(shape_name: str, model: ServiceModel) -> object:
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return {name: _valid(member["shape"], model) for name, member in shape["members"].items()
                if "location" not in member}
    if kind == "list":
        return [_valid(shape["member"]["shape"], model)]
    if kind == "map":
        return {"key": _valid(shape["value"]["shape"], model)}
    if kind == "boolean":
        return True
    if kind in ("integer", "long", "double"):
        return 1
    if kind == "blob":
        return "e30="
    if shape.get("enum"):
        return shape["enum"][0]
    return "value"


@pytest.fixture(scope="module")
def ids(apigw_server: Server, apigw) -> dict[str, str]:
    api = apigw.create_rest_api(name="robust")
    resource = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="r")
    apigw.put_method(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", type="MOCK")
    apigw.put_method_response(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET",
                                   statusCode="200")
    deployment = apigw.create_deployment(restApiId=api["id"], stageName="dev")
    key = apigw.create_api_key(name="k", enabled=True)
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api["id"], "stage": "dev"}])
    return {"restapi_id": api["id"], "resource_id": resource["id"], "parent_id": resource["id"],
            "http_method": "GET", "status_code": "200", "stage_name": "dev", "deployment_id": deployment["id"],
            "api_Key": key["id"], "usageplanId": plan["id"], "keyId": key["id"], "export_type": "oas30"}


def _path(template: str, ids: dict[str, str], rng: random.Random) -> str:
    def label(m: re.Match) -> str:
        return ids.get(m.group(1), "x") if rng.random() < 0.8 else rng.choice(["nope", "%2F", "A" * 200])
    return re.sub(r"\{([A-Za-z0-9_]+)\+?\}", label, template)


def test_no_operation_answers_500_to_bad_input(apigw_server: Server, ids: dict[str, str]):
    model = ServiceModel()
    rng = random.Random(SEED)
    failures = []
    statuses: dict[int, int] = {}
    # Deletes last, so that the other calls meet the API and its parts.
    operations = sorted((op for ops in model.routes.values() for op in ops),
                        key=lambda o: (o.name.startswith("Delete"), o.name))
    from botocore.loaders import Loader

    raw = Loader().load_service_model("apigateway", "service-2")["operations"]
    for op in operations:
        uri = raw[op.name]["http"]["requestUri"]
        path, _, query = uri.partition("?")
        input_shape = raw[op.name].get("input", {}).get("shape")
        for attempt in range(20):
            body: object = _valid(input_shape, model) if input_shape else {}
            if isinstance(body, dict) and body:
                for name in list(body):
                    roll = rng.random()
                    if roll < 0.3:
                        body[name] = rng.choice(JUNK)
                    elif roll < 0.45:
                        del body[name]
            if attempt % 4 == 3:
                body = {"patchOperations": [{"op": rng.choice(["add", "remove", "replace", "move", "copy", "test",
                                                               "bogus"]),
                                             "path": rng.choice(["/", "/name", "/x/y/z", "/*/*/throttling/rateLimit",
                                                                 "/variables/a", "/apiStages", "~1", ""]),
                                             "value": rng.choice(["1", "", "true", "x", None])}]}
            data = json.dumps(body).encode() if attempt % 5 != 4 else b"{not json"
            reply = request(apigw_server.port, op.method, _path(path, ids, rng) + ("?" + query if query else ""),
                            {"Content-Type": "application/json"}, data)
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            if reply.status >= 500 and reply.status != 501:
                failures.append(f"{op.name} {op.method} -> {reply.status} {reply.body[:200]!r} for {data[:200]!r}")
            elif reply.status >= 400:
                assert reply.header("x-amzn-ErrorType"), op.name
                assert "message" in json.loads(reply.body), op.name
    assert not failures, "\n".join(failures[:20])
    # Deep enough to mean something: many calls got past validation and did their work.
    assert sum(n for status, n in statuses.items() if status < 300) > 300, statuses
    # The control plane still answers (the random calls may well have deleted the API itself).
    assert isinstance(apigateway_client(apigw_server.port).get_rest_apis()["items"], list)
