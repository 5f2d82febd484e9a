"""Wiring: builds the running gateway's parts once and connects them — the functions, the upstream pool, the
state the checks share, the compile dependencies, the gateway, and (once a store is open) the installers that
follow the store's change events. It is also what the control plane asks of the running gateway.

The control plane runs in a thread of its own (control/server.py): what it changes that requests use is
changed on the event loop's thread, through `handoff` (core/handoff.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TextIO

from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.http_authorizers import HttpAuthorizerDeps
from apiway.auth.identities import Identities
from apiway.auth.trial import Trial
from apiway.checks.response_cache import ResponseCaches
from apiway.config import Project
from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.core.handoff import LoopHandoff
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import StageRuntime
from apiway.core.websocket import IDLE_TIMEOUT, MAX_DURATION
from apiway.front.tls import ServerTls, TlsError, load_files, load_pem
from apiway.functions.invoke_api import InvokeApi
from apiway.functions.lambda_api import LambdaApi
from apiway.functions.runners import Functions
from apiway.integrations.aws_services import AwsServices
from apiway.integrations.upstream import UpstreamPool
from apiway.model.http import HttpApiDefinition
from apiway.model.http import Stage as HttpStage
from apiway.model.rest import ApiDefinition, Resource, Stage
from apiway.observe.log import log
from apiway.observe.log_groups import LogGroups
from apiway.observe.rotating import LogLimits
from apiway.runtime import test_invoke
from apiway.runtime.connections import Connections, ConnectionsService, NodeLink
from apiway.runtime.deps import CompileDeps
from apiway.runtime.domain_install import Certificate, DomainInstaller, ProjectDomain
from apiway.runtime.gateway import Gateway
from apiway.runtime.installer import StageInstaller
from apiway.state.api_keys import AccessState
from apiway.state.memory import MemoryState
from apiway.state.redis_connections import RedisConnections
from apiway.state.redis_state import RedisSettings, RedisState
from apiway.store.base import Store
from apiway.telemetry.access_log import AccessLogs
from apiway.telemetry.execution_log import ExecutionLogs
from apiway.telemetry.hub import Part, Telemetry
from apiway.telemetry.logs_api import LogsApi
from apiway.telemetry.metrics import MetricsPart, MetricStore
from apiway.telemetry.tracing import Tracer


class App:
    def __init__(self, project: Project, log_dir: Path | None = None, clock: Clock = SYSTEM_CLOCK,
                 log_limits: LogLimits | None = None, echo_functions: bool = True,
                 callback_env: dict[str, str] | None = None, redis: RedisSettings | None = None,
                 access_log: TextIO | None = None, tracer: Tracer | None = None, metrics: str = "on") -> None:
        # Log groups (function logs, access and execution logs) as files under the state's logs/groups/.
        self.log_groups = LogGroups(log_dir / "groups", log_limits) if log_dir is not None else None
        self.logs_api = LogsApi(self.log_groups) if self.log_groups is not None else None  # CloudWatch Logs API
        self.runner = Functions(self.log_groups, echo_functions)
        # What a function needs to call this gateway back (the @connections endpoint), under its own variables.
        self.functions = [replace(spec, environment={**callback_env, **spec.environment}) if callback_env else spec
                          for spec in project.functions]
        for spec in self.functions:
            self.runner.load(spec)
        self.pool = UpstreamPool()
        specs = {spec.name: spec for spec in self.functions}
        self.handoff = LoopHandoff()  # bound to the serving loop by the control plane's handler
        self.invoke_api = InvokeApi(self.runner, specs, self.runner.workers.logs)  # Lambda's Invoke API service
        self.lambda_api: LambdaApi | None = None  # Lambda's control plane, once `manage_functions` is called
        # Everything requests share (buckets, quotas, caches, connections) lives in one state backend.
        # With --redis, in Redis for every node that uses it (state/redis_state.py).
        self.state: MemoryState | RedisState = (MemoryState(clock, self.handoff) if redis is None
                                                else RedisState(redis, handoff=self.handoff))
        # WebSocket connections live here; registered in the state, or with --redis in a registry every node
        # shares, through which any node reaches them (and a survivor runs a lost node's $disconnect).
        link: NodeLink | None = (None if redis is None else
                                 RedisConnections.from_url(redis.url, prefix=redis.prefix))
        self.connections = Connections(self.state, link)
        self.connections_api = ConnectionsService(self.connections)  # their @connections management API
        self.gateway = Gateway(self.connections)
        self.connections.stage_of = self.gateway.stage
        self.ws_lifetimes = (IDLE_TIMEOUT, MAX_DURATION)  # WebSocket connections' idle timeout, maximum duration
        self.caches = ResponseCaches(clock, self.state)
        # Canaries with useStageCache false keep apart from their stage.
        self.canary_caches = ResponseCaches(clock, self.state, "canary responses")
        self.access = AccessState(self.state, clock)
        authorizer_cache = AuthorizerCache(self.state, clock=clock)
        authorizer_cache.user_pools.settings = project.cognito
        identities = Identities(project.iam)
        # HTTP API authorizers share the authorizer cache (and its clock) and the IAM identities with REST's.
        http_authorizers = HttpAuthorizerDeps(invoker=self.runner, cache=authorizer_cache, identities=identities)
        # What observes stages (telemetry/hub.py): metrics, access logs, execution logs, traces.
        # Metrics: "on" (every stage, as AWS always publishes them), "per-key" (also by API key), or "off".
        self.metrics = MetricStore(clock.wall_ms)
        if metrics == "per-key":
            self.metrics.per_key = {}
        self.tracer = tracer or Tracer()
        parts: list[Part] = [AccessLogs(self.log_groups, access_log)]
        if metrics != "off":
            parts.append(MetricsPart(self.metrics))
        if self.log_groups is not None:
            parts.append(ExecutionLogs(self.log_groups))
        parts.append(self.tracer)
        self.telemetry = Telemetry(parts)
        # Project files compile strictly; what the control plane makes (and every stored stage) leniently.
        self.deps = CompileDeps(invoker=self.runner, pool=self.pool, clock=clock, state=self.state,
                                authorizer_cache=authorizer_cache, access=self.access,
                                identities=identities, caches=self.caches, http_authorizers=http_authorizers,
                                telemetry=self.telemetry,
                                aws=AwsServices(endpoint=project.aws.endpoint, region=project.aws.region))
        self.live_deps = replace(self.deps, strict=False, http_authorizers=replace(http_authorizers, strict=False))
        self.installer: StageInstaller | None = None

    def start(self, store: Store, domains: list[ProjectDomain], api_refs: dict[str, str],
              tls: ServerTls | None = None) -> tuple[list[StageRuntime], list[str]]:
        """Serve every stored stage and the custom domains, then follow the store's changes: the stages
        served, and why each other stored stage is not."""
        self.access.load(store)
        self.installer = StageInstaller(store, self.gateway, self.live_deps, self.canary_caches, self.handoff,
                                        self.ws_lifetimes)
        served = self.installer.install_all()
        domain_installer = DomainInstaller(store, self.gateway, domains, api_refs,
                                           partial(_serve_certificates, tls) if tls is not None else None)
        domain_installer.install()
        store.subscribe(self.installer.changed)  # compiles in the writer's thread, swaps on the loop's
        for follower in (self.access.changed, domain_installer.changed):  # cheap: wholly on the loop's thread
            store.subscribe(partial(self.handoff.post, follower))
        return served

    def manage_functions(self, root: Path) -> None:
        """Serve Lambda's control plane; the functions it makes are kept under `root` and served from now on."""
        catalog = self.runner.manage(root)
        self.invoke_api.versions = catalog.version
        self.lambda_api = LambdaApi(catalog, lambda name: name in self.invoke_api.specs, self._function_made)

    def _function_made(self) -> None:
        """Stages deployed before the function existed fail their calls to it (as on AWS, while it is missing):
        compiled again, they call it."""
        if self.installer is not None:
            self.installer.refresh_all()

    def serving(self) -> None:
        """The server listens: what runs on its loop from now on starts."""
        self.connections.start()

    async def close(self) -> None:
        await self.connections.drain()  # $disconnect runs of the connections shutdown closed, while functions run
        await self.connections.close()  # this node leaves the WebSocket registry of several nodes
        await asyncio.wrap_future(self.access.flush())  # quota counts not yet written, by the usage writer thread
        await self.state.close()  # batched counts not yet sent to Redis
        await self.runner.close()
        if self.log_groups is not None:  # after the functions: their last lines are written too
            await asyncio.to_thread(self.log_groups.close)
        await self.pool.close()
        await asyncio.to_thread(self.tracer.close)  # traces not yet exported

    # -- what the control plane asks of the running gateway (apiway.control.plane.RuntimeHooks) -------

    def prepare(self, snapshot: ApiDefinition, stage: Stage) -> StageRuntime:
        assert self.installer is not None, "the control plane runs once the app has started"
        return self.installer.prepare(snapshot, stage)

    def prepare_http(self, snapshot: HttpApiDefinition, stage: HttpStage) -> StageRuntime:
        """Compile an HTTP API stage before it is written (DeployError naming what cannot be served)."""
        assert self.installer is not None, "the control plane runs once the app has started"
        return self.installer.prepare_http(snapshot, stage)

    async def test_invoke(self, snapshot: ApiDefinition, stage: Stage, resource: Resource, http_method: str,
                          path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                          failures: list[str] | None = None) -> HttpResponse:
        return await test_invoke.run_method(self.gateway, self.live_deps, snapshot, stage, resource, http_method,
                                            path, query, headers, body, failures)

    async def test_invoke_authorizer(self, snapshot: ApiDefinition, stage: Stage, authorizer_id: str,
                                     request: HttpRequest, request_id: str) -> Trial:
        return await test_invoke.run_authorizer(snapshot, stage, authorizer_id, request, request_id, self.live_deps)

    def flush_stage_cache(self, api_id: str, stage_name: str) -> None:
        for caches in (self.caches, self.canary_caches):
            self.handoff.call(caches.flush, api_id, stage_name)

    def flush_authorizer_cache(self, api_id: str, stage_name: str) -> None:
        assert self.live_deps.authorizer_cache is not None
        self.handoff.call(self.live_deps.authorizer_cache.flush, api_id, stage_name)

    def flush_usage(self) -> None:
        # the counts are taken on the loop; this (the control plane's) thread waits until they are written
        self.handoff.call(self.access.flush).result()


def _serve_certificates(tls: ServerTls, certificates: dict[str, Certificate]) -> None:
    """Each domain's server context to the HTTPS listener; one that does not load is left out (the default
    certificate is served for it) with a log line."""
    contexts = {}
    for name, certificate in certificates.items():
        try:
            contexts[name] = load_files(*certificate.files) if certificate.files else load_pem(*certificate.pem)
        except TlsError as exc:
            log("ERROR", "certificate not served", domain=name, error=str(exc))
    tls.set_domains(contexts)


def default_state_path(cwd: Path) -> Path:
    return cwd / ".apiway" / "state.db"
