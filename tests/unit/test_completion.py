"""Every request of a stage completes in one place: the gateway records the outcome on the invocation and
tells the stage's observers, whatever the outcome — served, refused by routing, failed in a check."""

import asyncio
import dataclasses

import orjson

from apiway.core.http import HttpRequest
from apiway.core.invocation import Completion
from apiway.openapi.importer import import_openapi
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.store.deployments import stage_record

API = "obsapi0001"
DOC = {
    "openapi": "3.0.1",
    "info": {"title": "observed", "version": "1"},
    "paths": {
        "/ok": {"get": {"x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200"}}}}},
        "/checked": {"get": {
            "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}],
            "x-amazon-apigateway-request-validator": "params",
            "x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "responses": {"default": {"statusCode": "200"}}}}},
    },
    "x-amazon-apigateway-request-validators": {"params": {"validateRequestParameters": True}},
}


class NoFunctions:
    def has(self, name: str) -> bool:
        return False


def gateway_with(observers: tuple) -> Gateway:
    text = orjson.dumps(DOC).decode()
    definition = import_openapi(DOC, text, "observed.json", API)
    runtime = compile_stage(definition, stage_record(API, "prod", "dep1", {}), CompileDeps(NoFunctions(), None))  # type: ignore[arg-type]
    gateway = Gateway()
    gateway.install([dataclasses.replace(runtime, observers=observers)])
    return gateway


def call(gateway: Gateway, path: str, query: str = ""):
    return asyncio.run(gateway.handle(HttpRequest("GET", path, query, [("Host", f"{API}.execute-api.localhost")],
                                                  b"")))


def test_observers_see_every_outcome_with_status_and_error_type() -> None:
    seen: list[Completion] = []
    gateway = gateway_with((lambda *parts: seen.append(Completion(*parts)),))
    served = call(gateway, "/prod/ok")
    unrouted = call(gateway, "/prod/nowhere")
    refused = call(gateway, "/prod/checked")
    assert [c.response.status for c in seen] == [served.status, unrouted.status, refused.status] == [200, 403, 400]
    assert [c.error_type for c in seen] == [None, "MISSING_AUTHENTICATION_TOKEN", "BAD_REQUEST_PARAMETERS"]
    assert seen[0].invocation is not None and seen[0].invocation.status == 200
    assert seen[0].invocation.integration_latency_ms is not None and seen[0].invocation.integration_latency_ms >= 0
    assert seen[1].invocation is None  # failed before a method was found
    assert seen[2].invocation is not None and seen[2].invocation.error_type == "BAD_REQUEST_PARAMETERS"
    assert all(c.stage.stage_name == "prod" and c.latency_ms >= 0 for c in seen)


def test_a_failing_observer_does_not_change_the_answer() -> None:
    def broken(*parts: object) -> None:
        raise RuntimeError("observer bug")

    assert call(gateway_with((broken,)), "/prod/ok").status == 200


def test_a_stage_without_observers_answers_the_same() -> None:
    with_none, observed = gateway_with(()), gateway_with((lambda *parts: None,))
    a, b = call(with_none, "/prod/ok"), call(observed, "/prod/ok")
    assert (a.status, a.body) == (b.status, b.body)
