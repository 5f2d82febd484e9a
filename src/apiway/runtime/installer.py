"""The stage installer: keeps the gateway serving the stages the store holds. It follows the store's
change events: on a stage's event it reads the stage back and serves it compiled, with its canary beside
it, or stops serving it when it is gone, whoever wrote it and in whichever process.

A control-plane handler checks that a stage compiles before it writes it (`prepare`, which raises
DeployError). That compilation is kept under the stage's compile key and served, once, by the event that
follows if the stored stage still compiles to it; otherwise the installer compiles the stored stage.

Compiling runs in the thread that wrote (the control plane's, off the event loop): a 20,000-path stage
takes seconds. Only the swap — serving the compiled stage, dropping a cache it no longer has — is handed
to the loop's thread (core/handoff.py), in the order the changes committed."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson

from apiway.checks.response_cache import ResponseCaches
from apiway.core.errors import DeployError
from apiway.core.handoff import LoopHandoff
from apiway.core.invocation import StageRuntime
from apiway.core.websocket import IDLE_TIMEOUT, MAX_DURATION
from apiway.core.ws_invocation import WsStageRuntime
from apiway.model import http
from apiway.model.rest import ApiDefinition, Stage
from apiway.observe.log import log
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.runtime.http_compile import compile_http_stage
from apiway.runtime.ws_compile import compile_ws_stage
from apiway.store import http_deployments
from apiway.store.base import Store
from apiway.store.changes import STAGE, Changed
from apiway.store.kinds import V2_STAGE

# Prepared compilations that no write followed (a handler that failed after preparing) are dropped, oldest
# first, beyond this many.
KEEP_PREPARED = 8


def compile_key(stage: Stage | http.Stage) -> bytes:
    """What a stage's compilation depends on: everything in its record but the timestamps (the deployment it
    names is immutable). REST stages name their API `restApiId`, HTTP API stages `apiId`: keys never collide."""
    return orjson.dumps({k: v for k, v in stage.items() if k not in ("createdDate", "lastUpdatedDate",
                                                                        "lastDeploymentStatusMessage")},
                        option=orjson.OPT_SORT_KEYS)


class StageInstaller:
    def __init__(self, store: Store, gateway: Gateway, deps: CompileDeps, canary_caches: ResponseCaches,
                 handoff: LoopHandoff | None = None,
                 ws_lifetimes: tuple[float, float] = (IDLE_TIMEOUT, MAX_DURATION)) -> None:
        self.store = store
        self.ws_lifetimes = ws_lifetimes  # a WebSocket connection's idle timeout and maximum duration (seconds)
        self.gateway = gateway
        self.deps = deps
        self.canary_caches = canary_caches  # canaries with useStageCache false keep apart from their stage
        self.handoff = handoff or LoopHandoff()
        self._prepared: OrderedDict[bytes, StageRuntime] = OrderedDict()
        self._prepared_lock = threading.Lock()

    def prepare(self, snapshot: ApiDefinition, stage: Stage) -> StageRuntime:
        """Compile in memory; raises DeployError naming what the gateway could not serve. Nothing is served
        yet: the stage's change event, once the stage is written, serves this compilation (with its canary,
        whose deployment may not be written yet)."""
        return self._keep(compile_key(stage), compile_stage(snapshot, stage, self.deps))

    def prepare_http(self, snapshot: http.HttpApiDefinition, stage: http.Stage) -> StageRuntime:
        """`prepare` for an HTTP or WebSocket API stage: compile in memory (DeployError naming what cannot be
        served); the stage's V2_STAGE change event serves it."""
        return self._keep(compile_key(stage), self._compile_v2(snapshot, stage))

    def _keep(self, key: bytes, runtime: StageRuntime) -> StageRuntime:
        with self._prepared_lock:
            self._prepared.pop(key, None)
            self._prepared[key] = runtime
            while len(self._prepared) > KEEP_PREPARED:
                self._prepared.popitem(last=False)
        return runtime

    def install_all(self) -> tuple[list[StageRuntime], list[str]]:
        """Serve every stored stage (at start); the stages served, and why each other one is not."""
        runtimes, failed = [], []
        for stage in self.store.list_stages():
            found = self.store.get_deployment(stage["restApiId"], stage["deploymentId"])
            name = f"{stage['restApiId']}/{stage['stageName']}"
            if found is None:
                failed.append(f"{name}: deployment {stage['deploymentId']} is missing")
                continue
            try:
                runtime = self._compiled(compile_stage(found[1], stage, self.deps), stage)
            except DeployError as exc:
                failed.append(f"{name}: {exc}")
                continue
            self._drop_unused_caches(stage)
            runtimes.append(runtime)
        for v2_stage in http_deployments.list_stages(self.store):
            name = f"{v2_stage['apiId']}/{v2_stage['stageName']}"
            try:
                compiled = self._compile_http(v2_stage)
            except DeployError as exc:
                failed.append(f"{name}: {exc}")
                continue
            if compiled is not None:
                runtimes.append(compiled)
        self.gateway.install(runtimes)
        return runtimes, failed

    def changed(self, changes: Sequence[Changed]) -> None:
        """Store subscription: re-serve each stage that changed."""
        for change in changes:
            if change.kind == STAGE:
                api_id, _, stage_name = change.key.partition("/")
                self.refresh(api_id, stage_name)
            elif change.kind == V2_STAGE:
                api_id, _, stage_name = change.key.partition("/")
                self.refresh_http(api_id, stage_name)

    def refresh_all(self) -> None:
        """Compile every stored stage again and serve it (a function the stages may name was made)."""
        for stage in self.store.list_stages():
            self.refresh(stage["restApiId"], stage["stageName"])
        for v2_stage in http_deployments.list_stages(self.store):
            self.refresh_http(v2_stage["apiId"], v2_stage["stageName"])

    def refresh(self, api_id: str, stage_name: str) -> None:
        """Serve the stage as stored now, or stop serving it when it is gone."""
        stage = self.store.get_stage(api_id, stage_name)
        if stage is None:
            self.handoff.post(self.gateway.remove_stage, api_id, stage_name)
            return
        try:
            with self._prepared_lock:
                runtime = self._prepared.pop(compile_key(stage), None)
            if runtime is None:
                found = self.store.get_deployment(api_id, stage["deploymentId"])
                if found is None:
                    self.handoff.post(self.gateway.remove_stage, api_id, stage_name)
                    return
                runtime = compile_stage(found[1], stage, self.deps)
            runtime = self._compiled(runtime, stage)
        except DeployError as exc:  # deployments are checked before they are written; this is a safety net
            log("ERROR", "stage not served", api=api_id, stage=stage_name, error=str(exc))
            self.handoff.post(self.gateway.remove_stage, api_id, stage_name)
            return
        self.handoff.post(self._swap, runtime, stage)

    def refresh_http(self, api_id: str, stage_name: str) -> None:
        """Serve an HTTP or WebSocket API stage as stored now (a prepared compilation when it still matches), or
        stop serving it: gone, or without a deployment."""
        stage = http_deployments.get_stage(self.store, api_id, stage_name)
        runtime = None
        if stage is not None:
            with self._prepared_lock:
                runtime = self._prepared.pop(compile_key(stage), None)
            if runtime is None:
                try:
                    runtime = self._compile_http(stage)
                except DeployError as exc:
                    log("ERROR", "stage not served", api=api_id, stage=stage_name, error=str(exc))
        if runtime is None:
            self.handoff.post(self.gateway.remove_stage, api_id, stage_name)
        else:
            self.handoff.post(self.gateway.install_stage, runtime)

    def _compile_http(self, stage: http.Stage) -> StageRuntime | None:
        """An HTTP or WebSocket API stage compiled from its deployment's snapshot; None when it serves nothing
        (no deployment yet)."""
        deployment_id = stage.get("deploymentId")
        if not deployment_id:
            return None
        found = http_deployments.get_deployment(self.store, stage["apiId"], deployment_id)
        if found is None:
            raise DeployError(f"deployment {deployment_id} is missing")
        return self._compile_v2(found[1], stage)

    def _compile_v2(self, snapshot: http.HttpApiDefinition, stage: http.Stage) -> StageRuntime:
        if snapshot["api"].get("protocolType") != http.PROTOCOL_WEBSOCKET:
            return compile_http_stage(snapshot, stage, self.deps)
        runtime: WsStageRuntime = compile_ws_stage(snapshot, stage, self.deps)
        runtime.idle_timeout, runtime.max_duration = self.ws_lifetimes
        return runtime

    def _swap(self, runtime: StageRuntime, stage: Stage) -> None:
        """On the loop's thread: serve the compiled stage."""
        self._drop_unused_caches(stage)
        self.gateway.install_stage(runtime)

    def _drop_unused_caches(self, stage: Stage) -> None:
        """A stage without a cache cluster loses its cached responses (compiling leaves the caches alone),
        and a canary that does not share its stage's cache loses its own."""
        if not stage.get("cacheClusterEnabled"):
            for caches in (self.deps.caches, self.canary_caches):
                if caches is not None:
                    caches.discard(stage["restApiId"], stage["stageName"])

    def _compiled(self, runtime: StageRuntime, stage: Stage) -> StageRuntime:
        """A compiled stage as the gateway serves it: its canary beside it."""
        canary = stage.get("canarySettings")
        runtime.canary_release = bool(canary)
        if canary and canary.get("percentTraffic", 0) > 0:
            runtime.canary = self._compile_canary(stage, canary)
            runtime.canary_share = canary["percentTraffic"] / 100
        return runtime

    def _compile_canary(self, stage: Stage, canary: dict[str, Any]) -> StageRuntime | None:
        """The canary deployment on the stage, its variables overridden by `stageVariableOverrides`."""
        where = {"api": stage["restApiId"], "stage": stage["stageName"], "deployment": canary["deploymentId"]}
        found = self.store.get_deployment(stage["restApiId"], canary["deploymentId"])
        if found is None:
            log("ERROR", "canary not served: its deployment is missing", **where)
            return None
        record = stage.copy()
        record.pop("canarySettings")
        record["deploymentId"] = canary["deploymentId"]
        record["variables"] = {**(stage.get("variables") or {}), **(canary.get("stageVariableOverrides") or {})}
        caches = self.deps.caches if canary.get("useStageCache") else self.canary_caches
        try:
            runtime = compile_stage(found[1], record, replace(self.deps, caches=caches))
        except DeployError as exc:
            log("ERROR", "canary not served", error=str(exc), **where)
            return None
        runtime.is_canary = runtime.canary_release = True
        if self.deps.telemetry is not None:  # again, now that it is a canary (its logs go to their own stream)
            self.deps.telemetry.equip(runtime, record)
        return runtime
