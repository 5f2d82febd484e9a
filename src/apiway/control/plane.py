"""The control plane's state access: lookups that fail with AWS's own NotFound messages, writes
that go to the store in one transaction, and what it asks of the running gateway beyond that. Writes
reach the gateway through the store's change events, not through the control plane. Handlers load a
fresh copy of what they change and save it whole, so a call that fails half-way writes nothing."""

from __future__ import annotations

from typing import Any, Protocol

from apiway.auth.trial import Trial
from apiway.control.errors import bad_request, not_found
from apiway.core.errors import DeployError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.model import http, ids
from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.model.rest import ApiDefinition, Deployment, Method, Resource, Stage
from apiway.store import http_deployments
from apiway.store.base import Store


class RuntimeHooks(Protocol):
    """What the control plane needs from the running gateway that a write to the store cannot say."""

    def prepare(self, snapshot: ApiDefinition, stage: Stage) -> object:
        """Compile in memory before the stage is written; raises DeployError naming what AWS would reject.
        Once the stage is written as prepared, its change event serves this compilation."""

    def prepare_http(self, snapshot: http.HttpApiDefinition, stage: http.Stage) -> object:
        """`prepare` for an HTTP or WebSocket API stage: compile in memory before the stage is written
        (DeployError naming what cannot be served); its change event then serves this compilation."""

    async def test_invoke(self, snapshot: ApiDefinition, stage: Stage, resource: Resource, http_method: str,
                          path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                          failures: list[str] | None = None) -> HttpResponse:
        """Run one method through the pipeline without deploying it; why a step failed is appended to
        `failures` in execution-log wording."""

    async def test_invoke_authorizer(self, snapshot: ApiDefinition, stage: Stage, authorizer_id: str,
                                     request: HttpRequest, request_id: str) -> Trial:
        """Run one authorizer once on a request, its result cache neither read nor filled."""

    def flush_stage_cache(self, api_id: str, stage_name: str) -> None: ...

    def flush_authorizer_cache(self, api_id: str, stage_name: str) -> None: ...

    def flush_usage(self) -> None:
        """Write the usage counted in memory to the store, before the store's usage is read or changed."""


class ControlPlane:
    def __init__(self, store: Store, runtime: RuntimeHooks, host: str = "localhost:8080") -> None:
        self.store = store
        self.runtime = runtime
        self.host = host  # how clients reach this gateway, for invoke URLs in exports
        self.account_id = ACCOUNT_ID
        self.region = REGION

    # -- REST APIs and their parts ----------------------------------------------------------------

    def api(self, api_id: str) -> ApiDefinition:
        definition = self.store.get_api(api_id)
        if definition is None:
            raise not_found(f"Invalid API identifier specified {self.account_id}:{api_id}")
        return definition

    def api_id(self, api_id: str) -> str:
        """The id of an existing API, checked without loading the API (stage and deployment calls)."""
        if not self.store.has_api(api_id):
            raise not_found(f"Invalid API identifier specified {self.account_id}:{api_id}")
        return api_id

    def api_or(self, api_id: str, missing: Exception) -> ApiDefinition:
        """The API, for calls where AWS words an unknown API as something else (the child's NotFound)."""
        definition = self.store.get_api(api_id)
        if definition is None:
            raise missing
        return definition

    def save_api(self, definition: ApiDefinition) -> None:
        self.store.put_api(definition)

    @staticmethod
    def resource(definition: ApiDefinition, resource_id: str) -> Resource:
        resource = definition["resources"].get(resource_id)
        if resource is None:
            raise not_found("Invalid Resource identifier specified")
        return resource

    @staticmethod
    def method(resource: Resource, http_method: str) -> Method:
        method = (resource.get("resourceMethods") or {}).get(http_method)
        if method is None:
            raise not_found("Invalid Method identifier specified")
        return method

    @staticmethod
    def part(collection: dict[str, dict[str, Any]], part_id: str, missing: str) -> dict[str, Any]:
        """One record of an API's collection (authorizers, request validators, documentation parts or
        versions) by its id."""
        found = collection.get(part_id)
        if found is None:
            raise not_found(missing)
        return found

    def stage(self, api_id: str, stage_name: str) -> Stage:
        stage = self.store.get_stage(api_id, stage_name)
        if stage is None:
            raise not_found("Invalid stage identifier specified")  # AWS writes "stage" in lower case
        return stage

    def deployment(self, api_id: str, deployment_id: str) -> tuple[Deployment, ApiDefinition]:
        found = self.store.get_deployment(api_id, deployment_id)
        if found is None:
            raise not_found("Invalid Deployment identifier specified")
        return found

    # -- HTTP and WebSocket APIs (apigatewayv2) and their parts ---------------------------------------

    def http_api(self, api_id: str) -> http.HttpApiDefinition:
        """An apigatewayv2 API (a fresh copy to change); a REST API's id is unknown here, as on AWS."""
        definition = http_deployments.get_api(self.store, api_id)
        if definition is None:
            raise not_found(f"Invalid API identifier specified {self.account_id}:{api_id}")
        return definition

    def new_api_id(self) -> str:
        """An id no API of any kind has: REST, HTTP and WebSocket APIs share one id space."""
        return ids.new_api_id(self.store.list_api_kinds())

    def save_http_api(self, definition: http.HttpApiDefinition) -> http.Deployment | None:
        """Save a changed API and deploy it to its auto-deploying stages, in one transaction; the
        automatic deployment made, if any. Each of those stages is compiled first, so a change one of them
        could not serve is refused with nothing written, as CreateDeployment refuses it."""
        with self.store.transaction():
            http_deployments.put_api(self.store, definition)
            return http_deployments.auto_deploy(self.store, definition, self.prepare_http_stage)

    def prepare_http_stage(self, snapshot: http.HttpApiDefinition, stage: http.Stage) -> None:
        """Compile an HTTP or WebSocket API stage about to be written with this deployment snapshot; what the
        gateway could not serve is refused before anything is written."""
        if not stage.get("deploymentId"):
            return
        try:
            self.runtime.prepare_http(snapshot, stage)
        except DeployError as exc:
            raise bad_request(str(exc)) from None

    @staticmethod
    def http_part(collection: dict[str, Any], part_id: str, what: str) -> Any:
        """A route, integration or authorizer of an API by id, or AWS's NotFound naming it."""
        found = collection.get(part_id)
        if found is None:
            raise not_found(f"Invalid {what} identifier specified {part_id}")
        return found

    def http_stage(self, api_id: str, stage_name: str) -> http.Stage:
        stage = http_deployments.get_stage(self.store, api_id, stage_name)
        if stage is None:
            raise not_found("Invalid stage identifier specified")
        return stage

    def http_deployment(self, api_id: str, deployment_id: str) -> tuple[http.Deployment, http.HttpApiDefinition]:
        found = http_deployments.get_deployment(self.store, api_id, deployment_id)
        if found is None:
            raise not_found(f"Invalid Deployment identifier specified {deployment_id}")
        return found

    # -- account-level records (API keys, usage plans, domain names, …) -------------------------

    def record(self, kind: str, key: str, missing: str) -> Any:
        found = self.store.get_record(kind, key)
        if found is None:
            raise not_found(missing)
        return found

    def arn(self, path: str) -> str:
        """`arn:aws:apigateway:{region}::{path}`, the ARN tags are attached to."""
        return f"arn:aws:apigateway:{self.region}::{path}"
