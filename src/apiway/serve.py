"""`apiway serve` and `apiway validate`: load, deploy, print the invoke URLs, run the server."""

from __future__ import annotations

import sys
from pathlib import Path

from apiway import EXIT_BAD_INPUT, __version__
from apiway.app import App, PreparedApi, StartReport, default_state_path
from apiway.config import Project, load_project
from apiway.control.plane import ControlPlane
from apiway.control.server import AdminEndpoint, AdminPolicy, ControlPlaneHandler
from apiway.functions.watch import CodeWatcher
from apiway.runtime.compile import StageRuntime
from apiway.store.sqlite import SqliteStore

DEFAULT_PROJECT = "apiway.yaml"


def _fail(message: str) -> int:
    print(f"apiway: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _prepare(file: Path | None, stage: str, log_dir: Path | None = None) -> tuple[App, list[PreparedApi]]:
    """Everything checked before any state is written: documents, project file, functions, stages.
    Without a file (and no ./apiway.yaml) the project is empty: APIs come from the control plane."""
    if file is None and not Path(DEFAULT_PROJECT).exists():
        project = Project(Path.cwd(), [], [])
    else:
        project = load_project(file or Path(DEFAULT_PROJECT), stage)
    app = App(log_dir)
    app.load_functions(project)
    return app, app.prepare(project)


def validate(file: Path, stage: str) -> int:
    _, prepared = _prepare(file, stage)
    for item in prepared:
        definition = item.definition
        methods = sum(len(r.get("resourceMethods") or {}) for r in definition["resources"].values())
        print(f"{item.spec.openapi}: ok — '{definition['restApi']['name']}', {len(definition['resources'])} "
              f"resources, {methods} methods, stages {', '.join(s.name for s in item.spec.stages)}")
    return 0


def _shown(host: str) -> str:
    return "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1") else host


def invoke_table(stages: list[StageRuntime], host: str, port: int) -> str:
    shown = _shown(host)
    lines = []
    for stage in sorted(stages, key=lambda s: (s.api_name, s.stage_name)):
        base = f"http://{stage.api_id}.execute-api.{shown}:{port}/{stage.stage_name}"
        lines.append(f"\n  {stage.api_name}  (api {stage.api_id}, stage {stage.stage_name}, "
                     f"deployment {stage.deployment_id})")
        lines.append(f"    {base}")
        lines.append(f"    http://{shown}:{port}/restapis/{stage.api_id}/{stage.stage_name}/_user_request_")
        width = max((len(p.http_method) for p in stage.plans), default=3)
        for plan in stage.plans:
            path = "" if plan.resource_path == "/" else plan.resource_path
            lines.append(f"      {plan.http_method:<{width}}  {base}{path}")
    return "\n".join(lines)


def _unenforced_access_control(stages: list[StageRuntime]) -> str:
    found = []
    for stage in stages:
        for plan in stage.plans:
            if plan.authorization_type != "NONE" or plan.api_key_required:
                found.append(f"{stage.api_id}/{stage.stage_name} {plan.http_method} {plan.resource_path}")
    return ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")


def serve(file: Path | None, host: str, port: int, stage: str, state: Path | None, server: str = "native",
          watch: bool = False, admin_port: int | None = None, admin_host: str = "127.0.0.1") -> int:
    if watch and server != "native":
        return _fail("--watch needs the native server (leave out --server uvicorn)")
    if admin_port is not None and server != "native":
        return _fail("--admin-port needs the native server (leave out --server uvicorn)")
    state_path = state or default_state_path(Path.cwd())
    app, prepared = _prepare(file, stage, log_dir=state_path.parent / "logs")  # `apiway logs` reads these
    store = SqliteStore(state_path)
    report = StartReport()
    app.apply(store, prepared, report)
    stages = app.install_stages(store, report)
    print(f"apiway {__version__} — state {state_path}", flush=True)
    if report.deployed:
        print(f"  deployed (changed since the last start): {', '.join(report.deployed)}")
    if report.reused:
        print(f"  unchanged, same deployment: {', '.join(report.reused)}")
    for name in report.failed:
        print(f"  not served: {name}", file=sys.stderr)
    print(invoke_table(stages, host, port), flush=True)
    unenforced = _unenforced_access_control(stages)
    if unenforced:
        print(f"\n  warning: authorizers and API keys are not enforced yet; open to anyone: {unenforced}",
              file=sys.stderr)
    control = ControlPlaneHandler(ControlPlane(store, app, host=f"{_shown(host)}:{port}"),
                                  AdminPolicy.for_listener(admin_host if admin_port is not None else host))
    also = []
    if admin_port is not None:
        also.append((AdminEndpoint(control), admin_host, admin_port))
        print(f"  control plane (boto3 / AWS CLI endpoint_url): http://{admin_host}:{admin_port}")
    else:
        app.gateway.extra_handlers.append(control)
        print(f"  control plane (boto3 / AWS CLI endpoint_url): http://{_shown(host)}:{port}"
              + ("" if control.policy.open else "  (SigV4 with the admin credentials required)"))
    print(f"\nListening on http://{host}:{port}  (Ctrl-C to stop)\n", flush=True)
    if server == "native":
        from apiway.front.native import run_native

        watcher = CodeWatcher(app.functions, app.runner.reload) if watch else None
        if watcher is not None:
            print(f"Watching the code of {len(app.functions)} function(s) for changes", flush=True)
        try:
            run_native(app.gateway, host, port, ready=watcher.start if watcher else None, cleanup=app.close,
                       also=also)
        except OSError as exc:  # the port is taken, or the address is not this machine's
            return _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    else:
        _run_uvicorn(app, host, port)
    return 0


def _run_uvicorn(app: App, host: str, port: int) -> None:
    import uvicorn

    from apiway.front.asgi import AsgiApp
    from apiway.front.uvicorn_protocol import CasePreservingHttpToolsProtocol

    config = uvicorn.Config(
        AsgiApp(app.gateway), host=host, port=port, loop="uvloop", http=CasePreservingHttpToolsProtocol,
        lifespan="off", access_log=False, server_header=False, log_level="warning", backlog=2048,
        proxy_headers=False,  # the client address is the socket peer; X-Forwarded-* from clients is data
    )
    uvicorn.Server(config).run()
