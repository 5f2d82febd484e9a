"""`apiway serve` and `apiway validate`: load, deploy, print the invoke URLs, run the server."""

from __future__ import annotations

import gc
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from apiway import EXIT_BAD_INPUT, __version__, compiled
from apiway.app import App, default_state_path
from apiway.config import HTTP, WEBSOCKET, Project, load_project
from apiway.control.plane import ControlPlane
from apiway.control.server import ControlPlaneHandler
from apiway.core.websocket import IDLE_TIMEOUT, MAX_DURATION
from apiway.front.admin import KEY_ENV, SECRET_ENV, AdminPolicy
from apiway.front.dispatch import Dispatcher
from apiway.front.health import HEALTH, READY, Health
from apiway.front.supervisor import WorkerStart, reserve, supervise
from apiway.front.tls import ServerTls, TlsError, load_files
from apiway.functions.watch import CodeWatcher
from apiway.integrations.aws_service import unreachable_methods
from apiway.model.http import DEFAULT_STAGE
from apiway.observe.log import flush_repeats
from apiway.observe.rotating import LogLimits
from apiway.project import deployer
from apiway.project.deployer import PreparedProject, StartReport
from apiway.runtime.compile import StageRuntime
from apiway.runtime.domains import DomainTable
from apiway.state.base import ACCOUNT
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE
from apiway.state.redis_connections import NODE_TIMEOUT
from apiway.state.redis_state import RedisSettings, describe_redis
from apiway.store.base import Store
from apiway.store.open import describe, open_store
from apiway.telemetry.cloudwatch_api import CloudWatchApi
from apiway.telemetry.dashboard import DASHBOARD_PATH, Dashboard
from apiway.telemetry.prometheus import PrometheusText
from apiway.telemetry.trace_setup import build_tracer
from apiway.telemetry.tracing import DEFAULT_SAMPLE_RATE, Tracer

DEFAULT_PROJECT = "apiway.yaml"


def _fail(message: str) -> int:
    print(f"apiway: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _prepare(file: Path | None, stage: str | None, log_dir: Path | None = None,
             log_limits: LogLimits | None = None, echo_functions: bool = True,
             kind: str | None = None, callback_env: dict[str, str] | None = None,
             redis: RedisSettings | None = None, access_log: TextIO | None = None,
             tracer: Tracer | None = None, metrics: str = "on",
             parameter_overrides: dict[str, str] | None = None) -> tuple[App, PreparedProject]:
    """Everything checked before any state is written: documents, project file, functions, stages.
    Without a file (and no ./apiway.yaml, and no SAM/CDK template here) the project is empty: APIs come from
    the control plane."""
    from apiway.templates.load import template_project

    in_folder = file is None and not Path(DEFAULT_PROJECT).exists()
    from_template = template_project(file, parameter_overrides or {}, stage) if in_folder or file is not None else None
    if from_template is not None:
        project, notes = from_template
        for note in notes:
            print(f"apiway: {note}", flush=True)
    elif in_folder:
        project = Project(Path.cwd(), [], [])
    else:
        project = load_project(file or Path(DEFAULT_PROJECT), stage, kind)
    app = App(project, log_dir, log_limits=log_limits, echo_functions=echo_functions, callback_env=callback_env,
              redis=redis, access_log=access_log, tracer=tracer, metrics=metrics)
    return app, deployer.prepare(project, app.deps)


def validate(file: Path, stage: str | None, kind: str | None = None,
             parameter_overrides: dict[str, str] | None = None) -> int:
    _, prepared = _prepare(file, stage, kind=kind, parameter_overrides=parameter_overrides)
    for item in prepared.apis:
        stages = ", ".join(s.name for s in item.spec.stages)
        if item.spec.kind == WEBSOCKET:
            ws = item.http
            print(f"{item.spec.openapi}: ok — WebSocket API '{item.name}', {len(ws['routes'])} routes "
                  f"({', '.join(sorted(r['routeKey'] for r in ws['routes'].values()))}), "
                  f"{len(ws['integrations'])} integrations, {len(ws['authorizers'])} authorizers, stages {stages}")
            continue
        if item.spec.kind == HTTP:
            http = item.http
            print(f"{item.spec.openapi}: ok — HTTP API '{item.name}', {len(http['routes'])} routes, "
                  f"{len(http['integrations'])} integrations, {len(http['authorizers'])} authorizers, stages {stages}")
            continue
        definition = item.rest
        methods = sum(len(r.get("resourceMethods") or {}) for r in definition["resources"].values())
        print(f"{item.spec.openapi}: ok — '{item.name}', {len(definition['resources'])} "
              f"resources, {methods} methods, stages {stages}")
    return 0


def _shown(host: str) -> str:
    return "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1") else host


def invoke_table(stages: list[StageRuntime], host: str, port: int, scheme: str = "http") -> str:
    shown = _shown(host)
    lines = []
    for stage in sorted(stages, key=lambda s: (s.api_name, s.stage_name)):
        if stage.kind == "WEBSOCKET":
            lines += _websocket_lines(stage, shown, port, scheme)
            continue
        http_default = stage.kind == "HTTP" and stage.stage_name == DEFAULT_STAGE
        host_base = f"{scheme}://{stage.api_id}.execute-api.{shown}:{port}"
        base = host_base if http_default else f"{host_base}/{stage.stage_name}"
        kind = "HTTP API, " if stage.kind == "HTTP" else ""
        lines.append(f"\n  {stage.api_name}  (api {stage.api_id}, stage {stage.stage_name}, {kind}"
                     f"deployment {stage.deployment_id})")
        lines.append(f"    {base}")
        lines.append(f"    {scheme}://{shown}:{port}/restapis/{stage.api_id}/{stage.stage_name}/_user_request_")
        width = max((len(p.http_method) for p in stage.plans), default=3)
        for plan in stage.plans:
            if stage.kind == "HTTP":  # route keys: `GET /pets/{id}`, `$default` (any other path)
                path = plan.resource_path.partition(" ")[2] or "/…"
            else:
                path = "" if plan.resource_path == "/" else plan.resource_path
            lines.append(f"      {plan.http_method:<{width}}  {base}{path}")
    return "\n".join(lines)


def _websocket_lines(stage: StageRuntime, shown: str, port: int, scheme: str) -> list[str]:
    """A WebSocket API's stage: where clients connect (host and path style) and its @connections API."""
    ws = "wss" if scheme == "https" else "ws"
    base = f"{stage.api_id}.execute-api.{shown}:{port}/{stage.stage_name}"
    return [f"\n  {stage.api_name}  (api {stage.api_id}, stage {stage.stage_name}, WebSocket API, "
            f"deployment {stage.deployment_id})",
            f"    {ws}://{base}",
            f"    {ws}://{shown}:{port}/restapis/{stage.api_id}/{stage.stage_name}/_user_request_",
            f"    @connections: {scheme}://{base}/@connections/{{connectionId}}"]


def callback_env(url: str) -> dict[str, str]:
    """What functions get to call the gateway back: boto3's `apigatewaymanagementapi` endpoint (any connection of
    the node, no endpoint_url needed), and credentials the admin policy accepts (the admin ones when set)."""
    return {"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": url,
            "AWS_ACCESS_KEY_ID": os.environ.get(KEY_ENV) or "apiway",
            "AWS_SECRET_ACCESS_KEY": os.environ.get(SECRET_ENV) or "apiway"}


def _callback_host(host: str) -> str:
    """The address a function on this machine reaches a listener bound to `host` at."""
    if host in ("0.0.0.0", "::", "localhost"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def domain_table(domains: DomainTable, port: int, scheme: str = "http") -> str:
    """Each custom domain's base paths and what they reach (clients send the domain as Host)."""
    lines = []
    for routes in domains:
        for mapping in sorted(routes.mappings(), key=lambda m: m.base_path):
            stage = f"stage {mapping.stage}" if mapping.stage else "stage from the path"
            lines.append(f"    {scheme}://{routes.name}:{port}/{mapping.base_path}  →  api {mapping.api_id}, {stage}")
    return "\n\n  custom domains (send the name as Host):\n" + "\n".join(lines) if lines else ""


@dataclass(frozen=True)
class _Listen:
    """How each serving process listens and what it shows at start."""

    host: str
    port: int
    scheme: str
    tls: ServerTls | None
    admin_port: int | None
    admin_host: str
    server: str
    watch: bool
    drain_delay: float


def serve(file: Path | None, host: str, port: int, stage: str | None, state: Path | None, server: str = "native",
          store_url: str | None = None, redis: RedisSettings | None = None,
          watch: bool = False, admin_port: int | None = None, admin_host: str = "127.0.0.1",
          throttle_rate: float = ACCOUNT_RATE, throttle_burst: int = ACCOUNT_BURST, tls_cert: Path | None = None,
          tls_key: Path | None = None, log_limits: LogLimits | None = None, echo_functions: bool = True,
          kind: str | None = None, ws_idle_timeout: float = IDLE_TIMEOUT, ws_max_duration: float = MAX_DURATION,
          workers: int = 1, drain_delay: float = 0.0, access_log: str | None = None,
          metrics: str = "on", trace_sample_rate: float = DEFAULT_SAMPLE_RATE,
          trace_all: bool = False, parameter_overrides: dict[str, str] | None = None) -> int:
    if watch and server != "native":
        return _fail("--watch needs the native server (leave out --server uvicorn)")
    if admin_port is not None and server != "native":
        return _fail("--admin-port needs the native server (leave out --server uvicorn)")
    if workers > 1 and server != "native":
        return _fail("--workers needs the native server (leave out --server uvicorn)")
    if workers > 1 and watch:
        return _fail("--watch reloads the functions of one process (leave out --workers)")
    if drain_delay < 0:
        return _fail("--drain-delay cannot be negative")
    if drain_delay and server != "native":
        return _fail("--drain-delay needs the native server (leave out --server uvicorn)")
    if throttle_rate < 0 or throttle_burst < 0:
        return _fail("--throttle-rate and --throttle-burst cannot be negative")
    if ws_idle_timeout <= 0 or ws_max_duration <= 0:
        return _fail("--ws-idle-timeout and --ws-max-duration must be positive")
    if redis is not None and redis.flush_ms < 1:
        return _fail("--redis-flush-ms must be at least 1")
    tls = None
    if tls_cert is not None or tls_key is not None:
        if tls_cert is None or tls_key is None:
            return _fail("--tls-cert and --tls-key go together")
        if server != "native":
            return _fail("--tls-cert needs the native server (leave out --server uvicorn)")
        try:
            tls = ServerTls(load_files(tls_cert, tls_key))
        except TlsError as exc:
            return _fail(str(exc))
    scheme = "https" if tls else "http"
    state_path = state or default_state_path(Path.cwd())
    if log_limits is not None and (log_limits.max_bytes < 1 or log_limits.files < 1):
        return _fail("--log-max-bytes and --log-files must be at least 1")
    if log_limits is not None and log_limits.retention_days < 0:
        return _fail("--log-retention-days must be 0 or more")
    if not 0 <= trace_sample_rate <= 1:
        return _fail("--trace-sample-rate is a share between 0 and 1")
    try:
        tracer, trace_exports = build_tracer(trace_sample_rate, trace_all, os.environ)
    except ValueError as exc:
        return _fail(str(exc))
    reserved: list[socket.socket] = []
    if workers > 1:  # the ports are the workers' from now on, even while one restarts
        try:
            reserved = [reserve(h, p) for h, p in ((host, port), (admin_host, admin_port)) if p is not None]
        except OSError as exc:
            return _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        port = reserved[0].getsockname()[1]  # --port 0: the free port chosen, the same for every worker
    # `apiway logs` reads these
    services_url = (f"http://{_callback_host(admin_host)}:{admin_port}" if admin_port is not None
                    else f"{scheme}://{_callback_host(host)}:{port}")
    try:  # every stage's access-log lines also to stdout (`-`) or appended to a file
        access_out = None if access_log is None else sys.stdout if access_log == "-" else open(  # noqa: SIM115
            access_log, "a", buffering=1, encoding="utf-8")
    except OSError as exc:
        return _fail(f"--access-log {access_log}: {exc.strerror or exc}")
    app, prepared = _prepare(file, stage, log_dir=state_path.parent / "logs", log_limits=log_limits,
                             echo_functions=echo_functions, kind=kind, callback_env=callback_env(services_url),
                             redis=redis, access_log=access_out, tracer=tracer, metrics=metrics,
                             parameter_overrides=parameter_overrides)
    app.ws_lifetimes = (ws_idle_timeout, ws_max_duration)
    app.manage_functions(state_path.parent / "functions")  # what Lambda's API makes, kept beside the store
    app.state.configure_bucket(ACCOUNT, throttle_rate, throttle_burst)
    store = open_store(store_url, state_path)
    report = StartReport()
    deployer.apply(store, prepared.apis, report)
    deployer.write_records(store, prepared.records)
    print(f"apiway {__version__} — {'store' if store_url else 'state'} {describe(store_url, state_path)}\n"
          f"  hot path: {compiled.state()}", flush=True)
    if redis is not None:
        print(f"  shared state: {describe_redis(redis)}\n"
              f"  WebSocket connections: registered in Redis, so @connections on any node reaches them; a node "
              f"silent for {NODE_TIMEOUT:g} s is lost and a survivor runs its connections' $disconnect", flush=True)
    if trace_all or trace_exports:
        print(f"  tracing: {'every REST and HTTP API stage' if trace_all else 'REST stages with tracingEnabled'}, "
              f"sampling 1 request a second + {trace_sample_rate:.0%}; traces to "
              f"{', '.join(trace_exports) or 'the recent-traces ring only'}", flush=True)
    if report.deployed:
        print(f"  deployed (changed since the last start): {', '.join(report.deployed)}")
    if report.reused:
        print(f"  unchanged, same deployment: {', '.join(report.reused)}", flush=True)
    listen = _Listen(host, port, scheme, tls, admin_port, admin_host, server, watch, drain_delay)
    if workers == 1:
        return _serve_process(app, prepared, store, report.failed, listen)
    store.close()  # each worker opens its own: nothing of the store crosses a fork
    if redis is None:
        _warn_per_worker_state(workers)

    def worker(start: WorkerStart) -> int:
        return _serve_process(app, prepared, open_store(store_url, state_path), report.failed, listen, start)

    def up(pids: list[int]) -> None:
        print(f"\nListening on {scheme}://{host}:{port}  (Ctrl-C to stop)\n"
              f"  {workers} worker processes (pids {', '.join(map(str, pids))}) share the port (SO_REUSEPORT: the "
              f"kernel spreads connections over them); each serves every API and learns of the others' changes "
              f"through the store; a worker that exits is restarted; SIGTERM drains them\n", flush=True)

    # What is built so far is the workers' start: frozen, the pages they share are not copied by the collector.
    gc.freeze()
    from apiway.front.native import SHUTDOWN_GRACE

    return supervise(workers, worker, up, grace=drain_delay + SHUTDOWN_GRACE + 10, keep=reserved)


def _warn_per_worker_state(workers: int) -> None:
    print(f"\napiway: WARNING: with --workers {workers} and no shared state, throttles, usage-plan quotas, the "
          f"response and authorizer caches and WebSocket connections are per worker process: a limit admits up to "
          f"{workers}x its figure, a cache holds a copy per worker and @connections reaches only the connections "
          f"of the worker that receives the call. Share them with --redis URL.\n", file=sys.stderr, flush=True)


def _serve_process(app: App, prepared: PreparedProject, store: Store, failed: list[str], listen: _Listen,
                   start: WorkerStart | None = None) -> int:
    """Install the stored stages and serve them until stopped: the whole server, or one of its workers
    (`start`; only the first worker's first start prints what is served)."""
    stages, start_failed = app.start(store, prepared.domains, prepared.api_refs, listen.tls)
    health = Health(store.ping, start.index if start is not None else None)
    health.installed = True
    show = start is None or (start.index == 0 and not start.restarted)
    host, port, scheme = listen.host, listen.port, listen.scheme
    if show:
        for name in failed + start_failed:
            print(f"  not served: {name}", file=sys.stderr)
        for line in unreachable_methods(stages):
            print(f"  warning: {line}", file=sys.stderr)
        print(invoke_table(stages, host, port, scheme) + domain_table(app.gateway.domains, port, scheme), flush=True)
        if listen.tls is None and any(d.certificate for d in prepared.domains):
            print("  note: domain certificates are served with --tls-cert/--tls-key only (the port then speaks "
                  "HTTPS)", file=sys.stderr)
    control = ControlPlaneHandler(ControlPlane(store, app, host=f"{_shown(host)}:{port}"), handoff=app.handoff)
    dashboard = Dashboard(store, app.metrics, app.log_groups, app.tracer)
    services = [app.invoke_api, app.connections_api, *filter(None, [app.logs_api, app.lambda_api]), control,
                CloudWatchApi(app.metrics), PrometheusText(app.metrics), dashboard]
    also = []
    if listen.admin_port is not None:  # the services move to the admin listener; the gateway's port serves APIs only
        policy = AdminPolicy.for_listener(listen.admin_host)
        # An API's @connections stays on the gateway's port, behind that listener's policy.
        handler = Dispatcher(app.gateway, [], AdminPolicy.for_listener(host), app.connections_api, health)
        also.append((Dispatcher(None, services, policy, health=health), listen.admin_host, listen.admin_port))
        where = f"http://{listen.admin_host}:{listen.admin_port}"
    else:
        policy = AdminPolicy.for_listener(host)
        handler = Dispatcher(app.gateway, services, policy, app.connections_api, health)
        where = f"{scheme}://{_shown(host)}:{port}"
    if show:
        print(f"  control plane and Lambda Invoke API (boto3 / AWS CLI endpoint_url): {where}\n"
              f"  @connections of any WebSocket connection (apigatewaymanagementapi): {where}/@connections/{{id}}\n"
              f"  CloudWatch metrics (boto3 'cloudwatch' endpoint_url): {where}; Prometheus: {where}/metrics\n"
              f"    callers: {policy.describe()}\n"
              f"  liveness {scheme}://{_shown(host)}:{port}{HEALTH}, readiness {READY} (503 while draining)\n"
              f"  dashboard: {where}{DASHBOARD_PATH}")
        if app.logs_api is not None:
            print(f"  CloudWatch Logs API (boto3 `logs`, aws logs): {where}; log groups in {app.logs_api.groups.root}")
    if start is None:
        print(f"\nListening on {scheme}://{host}:{port}  (Ctrl-C to stop)\n", flush=True)
        # What start-up built (modules, service models, compiled stages) lives as long as the server: kept out
        # of the collector's generations, the collections that allocations on the request path trigger stay short.
        gc.freeze()
    try:
        if listen.server == "native":
            from apiway.front.native import run_native  # only the chosen front-end is loaded

            watcher = CodeWatcher(app.functions, app.runner.reload) if listen.watch else None
            if watcher is not None:
                print(f"Watching the code of {len(app.functions)} function(s) for changes", flush=True)

            def ready() -> None:
                app.serving()
                if start is not None:
                    start.ready()
                if watcher is not None:
                    watcher.start()

            try:
                run_native(handler, host, port, ready=ready, cleanup=app.close, also=also,
                           tls=listen.tls.context if listen.tls else None, reuse_port=start is not None,
                           draining=health.drain, drain_delay=listen.drain_delay)
            except OSError as exc:  # the port is taken, or the address is not this machine's
                return _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        else:
            _run_uvicorn(app, handler, host, port, health)
    finally:
        health.close()
        dashboard.close()
    return 0


def _run_uvicorn(app: App, handler: Dispatcher, host: str, port: int, health: Health) -> None:
    import uvicorn

    # Loaded only when uvicorn is the chosen front-end.
    from apiway.front.asgi import UVICORN_WEBSOCKETS, AsgiApp
    from apiway.front.uvicorn_protocol import CasePreservingHttpToolsProtocol

    asgi = AsgiApp(handler)
    config = uvicorn.Config(
        asgi, host=host, port=port, loop="uvloop", http=CasePreservingHttpToolsProtocol, **UVICORN_WEBSOCKETS,
        lifespan="off", access_log=False, server_header=False, log_level="warning", backlog=2048,
        proxy_headers=False,  # the client address is the socket peer; X-Forwarded-* from clients is data
    )
    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            app.serving()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            health.drain()
            await asgi.going_away()
            await super().shutdown(sockets)
            # What the native server does on its way out: quota counts not yet written, workers stopped, the
            # counts of held-back log lines written. uvicorn re-raises the stopping signal once this returns,
            # so nothing after run() (atexit included) would get the chance.
            await app.close()
            flush_repeats()

    Server(config).run()
