"""The request pipeline: resolve API and stage from the invoke URL, route, run the method's plan,
finish the response with AWS's headers, and turn every failure into the API's gateway response."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from random import random
from typing import Any, Protocol

import orjson

from apiway.core import request_ids
from apiway.core.errors import GatewayError, MissingAuthenticationToken
from apiway.core.http import MAX_PAYLOAD, HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, StageRuntime
from apiway.observe.log import log
from apiway.runtime.domains import DomainRoutes, DomainTable
from apiway.runtime.gateway_responses import DEFAULT_RENDERER

_USER_REQUEST = "/_user_request_"


class ExtraHandler(Protocol):
    """Another service on the gateway's port (e.g. Lambda's Invoke API), asked only about requests that
    name no API."""

    def matches(self, req: HttpRequest) -> bool: ...

    async def handle(self, req: HttpRequest) -> HttpResponse: ...


class Gateway:
    """Holds the compiled stages; `install` swaps them in with one assignment."""

    def __init__(self, extra_handlers: Sequence[ExtraHandler] = ()) -> None:
        self._apis: dict[str, dict[str, StageRuntime]] = {}
        self.domains = DomainTable()
        self.extra_handlers = list(extra_handlers)

    def install(self, stages: list[StageRuntime]) -> None:
        apis: dict[str, dict[str, StageRuntime]] = {}
        for stage in stages:
            apis.setdefault(stage.api_id, {})[stage.stage_name] = stage
        self._apis = apis

    def install_stage(self, stage: StageRuntime) -> None:
        """Serve one (re)compiled stage; other stages are untouched."""
        apis = dict(self._apis)
        apis[stage.api_id] = {**apis.get(stage.api_id, {}), stage.stage_name: stage}
        self._apis = apis

    def remove_stage(self, api_id: str, stage_name: str) -> None:
        apis = dict(self._apis)
        stages = {k: v for k, v in apis.get(api_id, {}).items() if k != stage_name}
        if stages:
            apis[api_id] = stages
        else:
            apis.pop(api_id, None)
        self._apis = apis

    def stage(self, api_id: str, stage_name: str) -> StageRuntime | None:
        return (self._apis.get(api_id) or {}).get(stage_name)

    def install_domains(self, table: DomainTable) -> None:
        """Serve a new set of custom domains and base path mappings."""
        self.domains = table

    def _resolve(self, req: HttpRequest) -> tuple[str, str, str | None] | None:
        """(api id, path after the API, VPC endpoint) from host-style or path-style invoke URLs or the forms
        of AWS's private endpoints. The endpoint is None for the public forms, "" when a header names it."""
        host = req.header("host") or ""
        if ".execute-api." in host:
            label = host.split(".", 1)[0]
            if "-" not in label:  # API ids never contain "-"; the private forms do
                return label, req.path, None
            return _private_host(req, label)
        if req.path.startswith("/restapis/"):
            api_id, _, rest = req.path[10:].partition("/")
            stage, _, rest = rest.partition("/")
            rest = "/" + rest
            if rest == _USER_REQUEST or rest.startswith(_USER_REQUEST + "/"):
                return api_id, f"/{stage}{rest[len(_USER_REQUEST):]}", None
        api_id = req.header("x-apigw-api-id")  # any host (a VPC endpoint's own name), the API named by header
        if api_id:
            return api_id, req.path, ""
        return None

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        """A gateway response before the request could be handled (e.g. its body is too large)."""
        resolved = self._resolve(req)
        stage = None
        if resolved is not None:
            stage_name = resolved[1].lstrip("/").partition("/")[0]
            stage = (self._apis.get(resolved[0]) or {}).get(stage_name)
        elif self.domains and (routes := self.domains.lookup(req.header("host") or "")) is not None:
            try:
                stage = self._domain_target(req, routes)[0]
            except GatewayError:
                stage = None
        return _render(GatewayError(response_type), req, stage, _request_id(req))

    async def handle(self, req: HttpRequest, target: tuple[StageRuntime, str] | None = None) -> HttpResponse:
        """Answer one request. `target` (stage, path after the stage) runs it on that stage without
        resolving the URL: the control plane's test invoke, on a stage that need not be installed."""
        request_id = _request_id(req)
        stage: StageRuntime | None = None
        try:
            context_path = identity = None
            if target is not None:
                stage, rest = target
            else:
                resolved = self._resolve(req)
                if resolved is not None:
                    api_id, api_path, vpce = resolved
                    stage_name, _, rest = api_path.lstrip("/").partition("/")
                    if not stage_name:
                        raise MissingAuthenticationToken()
                    found = (self._apis.get(api_id) or {}).get(stage_name)
                    if found is None:
                        raise _forbidden()  # AWS: unknown stage → 403 Forbidden
                    if found.vpc_endpoint_ids is not None or vpce is not None:
                        identity = _vpc_endpoint(req, found, vpce)
                    rest = "/" + rest if rest else ""
                else:
                    routes = self.domains.lookup(req.header("host") or "") if self.domains else None
                    if routes is None:
                        for extra in self.extra_handlers:  # only when no API is named: the API path pays nothing
                            if extra.matches(req):
                                return await extra.handle(req)
                        return _not_an_api(request_id)
                    found, rest, identity = self._domain_target(req, routes)
                    context_path = req.path  # on a custom domain, $context.path is the path as sent
                stage = found
                if found.canary is not None and random() < found.canary_share:
                    stage = found.canary
            # The rest runs inline, not in a helper coroutine: one frame less on every request.
            if len(req.body) > MAX_PAYLOAD:
                raise GatewayError("REQUEST_TOO_LARGE")
            match = stage.router.match(rest or "/", req.method)
            if match is None:
                raise MissingAuthenticationToken()
            inv = Invocation(req, stage, match.target, match.path_params, "/" + rest.lstrip("/"),
                             context_path or f"/{stage.stage_name}{rest}", request_id)
            if identity is not None:
                inv.identity = identity
            try:
                for guard in match.target.guards:
                    pending = guard(inv)
                    if pending is not None:
                        await pending
                response = await match.target.integration(inv)
            except GatewayError as err:
                err.extended_id = inv.extended_request_id  # one id per request, in $context and the response
                raise
            return _finish(response, request_id, inv.extended_request_id)
        except GatewayError as err:
            return self._failed(err, req, stage, request_id)
        except Exception as exc:
            return self._crashed(exc, req, stage, request_id)

    def _domain_target(self, req: HttpRequest, routes: DomainRoutes) -> tuple[StageRuntime, str, dict[str, Any] | None]:
        """(stage, path after base path and stage, private-endpoint identity) of a custom-domain request."""
        matched = routes.match(req.path)
        if matched is None:
            raise _forbidden()  # AWS: no base path mapping matches → 403 Forbidden
        mapping, rest = matched
        stage_name = mapping.stage
        if stage_name is None:  # a mapping without a stage leaves it to the path
            stage_name, _, rest = rest.lstrip("/").partition("/")
            rest = "/" + rest if rest else ""
        found = self.stage(mapping.api_id, stage_name)
        if found is None:
            raise _forbidden()
        return found, rest, None if found.vpc_endpoint_ids is None else _vpc_endpoint(req, found, None)

    @staticmethod
    def _failed(err: GatewayError, req: HttpRequest, stage: StageRuntime | None, request_id: str) -> HttpResponse:
        if (err.status is not None and err.status >= 500) or err.response_type.endswith("ERROR"):
            log("ERROR", err.log or err.response_type, requestId=request_id,
                api=stage.api_id if stage else None, path=req.path)
        return _render(err, req, stage, request_id)

    @staticmethod
    def _crashed(exc: Exception, req: HttpRequest, stage: StageRuntime | None, request_id: str) -> HttpResponse:
        log("ERROR", "unexpected failure", requestId=request_id, path=req.path,
            error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return _render(GatewayError("API_CONFIGURATION_ERROR"), req, stage, request_id)


def _forbidden() -> GatewayError:
    return GatewayError("INVALID_API_KEY", "Forbidden")


def _private_host(req: HttpRequest, label: str) -> tuple[str, str, str | None]:
    """`{apiId}-{vpceId}.execute-api…` names the API and the VPC endpoint; a VPC endpoint's own name
    (`vpce-….execute-api…`) needs the API in `x-apigw-api-id`."""
    if label.startswith("vpce-"):
        return req.header("x-apigw-api-id") or "", req.path, ""
    api_id, _, vpce = label.partition("-")
    return api_id, req.path, vpce


def _vpc_endpoint(req: HttpRequest, stage: StageRuntime, vpce: str | None) -> dict[str, Any]:
    """A PRIVATE API answers only requests that came through a VPC endpoint, and a VPC endpoint reaches
    only PRIVATE APIs; AWS answers anything else 403 Forbidden. With no VPC here, the endpoint is named by
    the `{apiId}-{vpceId}` host (which AWS creates only for the API's associated endpoints) or the
    `x-amzn-vpce-id` header. It becomes `$context.identity.vpceId`, what `aws:SourceVpce` reads."""
    allowed = stage.vpc_endpoint_ids
    if allowed is None:
        raise _forbidden()
    if vpce:
        if vpce not in allowed:
            raise _forbidden()
    else:
        vpce = req.header("x-amzn-vpce-id")
        if not vpce:
            raise _forbidden()
    return {"vpceId": vpce, "vpcId": req.header("x-amzn-vpc-id")}


def _request_id(req: HttpRequest) -> str:
    """The client's `x-amzn-RequestId` when it is a UUID (AWS reuses it), else a new one."""
    client_id = req.header("x-amzn-requestid")
    return client_id if client_id and request_ids.is_uuid(client_id) else request_ids.request_id()


def _finish(resp: HttpResponse, request_id: str, extended_id: str) -> HttpResponse:
    headers = resp.headers
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    headers.append(("x-amz-apigw-id", extended_id))
    return resp


def _not_an_api(request_id: str) -> HttpResponse:
    body = orjson.dumps({"message": "No API here. Invoke URLs look like http://{apiId}.execute-api.localhost:"
                                    "{port}/{stage}/{path} or /restapis/{apiId}/{stage}/_user_request_/{path}"})
    return HttpResponse(404, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], body)


def _render(err: GatewayError, req: HttpRequest, stage: StageRuntime | None, request_id: str) -> HttpResponse:
    """The error as the stage's API kind answers it; before any stage is known, as REST does."""
    return (stage.errors if stage is not None else DEFAULT_RENDERER).render(err, req, stage, request_id)
