"""The `apiway` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from apiway import EXIT_BAD_INPUT, __version__
from apiway.control.client import DEFAULT_ENDPOINT
from apiway.core.errors import DeployError
from apiway.core.websocket import IDLE_TIMEOUT, MAX_DURATION
from apiway.functions.inline import FunctionLoadError
from apiway.model.documents import DocumentError
from apiway.observe.rotating import LogLimits
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE
from apiway.state.redis_state import ACCURATE, BATCHED, DEFAULT_FLUSH_MS, FAIL_CLOSED, FAIL_OPEN, RedisSettings
from apiway.store.sqlite import StoreError

DESCRIPTION = """\
apiway — an AWS API Gateway you can run anywhere.

Serve a project file (apiway.yaml) or a plain OpenAPI 3.0 / Swagger 2.0 document with AWS's
x-amazon-apigateway-* extensions (for example a file from `aws apigateway get-export`), as a REST API
or an HTTP API (an `aws apigatewayv2 export-api` file; --kind overrides what the document suggests).
"""

EPILOG = """\
examples:
  apiway serve examples/petstore/apiway.yaml --port 8080
  apiway serve my-export.oas30.json --stage prod
  apiway serve http-api.yaml                  an HTTP API, on its $default stage
  apiway validate my-export.oas30.json
  apiway serve apiway.yaml --watch            reload functions when their code changes
  apiway invoke PetsFn --event event.json     run a function once, no server
  apiway logs PetsFn                          its START/END/REPORT log

control plane (boto3 / AWS CLI with endpoint_url=http://localhost:8080, any credentials on loopback):
  apiway import petstore.yaml                 create an API from OpenAPI in a running apiway
  apiway deploy a1b2c3d4e5 --stage prod       deploy it; it serves at once
  apiway export a1b2c3d4e5 --stage prod --type swagger --format yaml -o api.yaml
  apiway apis                                 list the APIs

Invoke URLs: http://{apiId}.execute-api.localhost:{port}/{stage}/{path}
         or: http://localhost:{port}/restapis/{apiId}/{stage}/_user_request_/{path}
  HTTP APIs on their $default stage: http://{apiId}.execute-api.localhost:{port}/{path}
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apiway", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"apiway {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="import, deploy and serve APIs",
                           description="Import the APIs of a project file (or one OpenAPI document), deploy "
                                       "them when they changed, and serve every deployed stage.")
    serve.add_argument("file", nargs="?", default=None, type=Path,
                       help="apiway.yaml project file or OpenAPI document (default: ./apiway.yaml if present; "
                            "without one, only APIs made through the control plane are served)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; use 0.0.0.0 to be reachable by others)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--stage", default=None,
                       help="stage for a plain OpenAPI document (default dev for a REST API, $default for an HTTP API)")
    serve.add_argument("--kind", choices=("rest", "http"), default=None, type=str.lower,
                       help="serve a plain document (or the project's APIs without a `kind`) as this kind of API "
                            "instead of the kind its content suggests")
    serve.add_argument("--state", type=Path, default=None,
                       help="state file (default .apiway/state.db under the working directory); function logs "
                            "go beside it")
    serve.add_argument("--store", default=os.environ.get("APIWAY_STORE"), metavar="URL",
                       help="where API definitions are kept: postgresql://USER@HOST/DB[?schema=NAME] for several "
                            "nodes sharing them (each learns of the others' changes), or sqlite:///PATH; default "
                            "the --state file (also from APIWAY_STORE)")
    serve.add_argument("--redis", default=os.environ.get("APIWAY_REDIS"), metavar="URL",
                       help="share throttles, quotas and caches with every node using the same Redis 6+ "
                            "(redis://[:PASSWORD@]HOST:PORT/DB or rediss:// for TLS; also from APIWAY_REDIS); "
                            "default: kept in this process")
    serve.add_argument("--redis-mode", choices=(ACCURATE, BATCHED), default=ACCURATE,
                       help="accurate: every request asks Redis (one round trip for all its buckets, exact); "
                            "batched: counted in this process and synchronised every --redis-flush-ms (cheaper; "
                            "several nodes may together pass a limit by what they admit in one interval)")
    serve.add_argument("--redis-flush-ms", type=int, default=DEFAULT_FLUSH_MS, metavar="MS",
                       help=f"batched mode: how often counts go to Redis (default {DEFAULT_FLUSH_MS})")
    serve.add_argument("--redis-failure", choices=(FAIL_OPEN, FAIL_CLOSED), default=FAIL_OPEN,
                       help="when Redis cannot be reached: open admits requests uncounted (a log line says so), "
                            "closed answers them 503; either way it recovers when Redis returns (default open)")
    serve.add_argument("--watch", action="store_true",
                       help="reload a function when its code changes (workers are replaced, in-flight calls finish)")
    serve.add_argument("--admin-port", type=int, default=None,
                       help="serve the control plane (boto3 / AWS CLI) on its own port instead of the gateway's")
    serve.add_argument("--admin-host", default="127.0.0.1",
                       help="address of the admin port (default 127.0.0.1)")
    serve.add_argument("--throttle-rate", type=float, default=ACCOUNT_RATE, metavar="RPS",
                       help=f"account-level throttling: steady requests per second over all APIs (default "
                            f"{ACCOUNT_RATE:g}, AWS's)")
    serve.add_argument("--throttle-burst", type=int, default=ACCOUNT_BURST, metavar="N",
                       help=f"account-level throttling: burst, the token bucket's size (default {ACCOUNT_BURST})")
    serve.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                       help="serve HTTPS on the port with this PEM certificate (its chain may follow it in the file); "
                            "custom domains with certificates of their own get theirs by SNI")
    serve.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                       help="the certificate's PEM private key (unencrypted)")
    serve.add_argument("--log-max-bytes", type=int, default=LogLimits.max_bytes, metavar="BYTES",
                       help=f"rotate each log stream's file (log groups: logs/groups/ beside the state file) when it "
                            f"reaches this size (default {LogLimits.max_bytes}, 10 MB)")
    serve.add_argument("--log-files", type=int, default=LogLimits.files, metavar="N",
                       help=f"files kept per log stream (and process), the current one included (default "
                            f"{LogLimits.files})")
    serve.add_argument("--log-retention-days", type=int, default=LogLimits.retention_days, metavar="DAYS",
                       help=f"delete log stream files not written for this many days, in log groups without a "
                            f"retention policy of their own (default {LogLimits.retention_days}; 0 keeps them)")
    serve.add_argument("--quiet-functions", action="store_true",
                       help="do not echo worker-mode functions' output on stderr (it still goes to log group "
                            "/aws/lambda/NAME and `apiway logs NAME`): under load, a line per invocation adds up")
    serve.add_argument("--ws-idle-timeout", type=float, default=IDLE_TIMEOUT, metavar="SECONDS",
                       help="close a WebSocket connection with 1001 after this long without a frame either way "
                            "(default 600, AWS's 10 minutes)")
    serve.add_argument("--ws-max-duration", type=float, default=MAX_DURATION, metavar="SECONDS",
                       help="close a WebSocket connection with 1001 once it is this old (default 7200, AWS's 2 hours)")
    serve.add_argument("--workers", type=_workers, default=1, metavar="N|auto",
                       help="serving processes on the port (default 1; auto: one per CPU). A supervisor starts them "
                            "from one prepared start, each listens with SO_REUSEPORT (the kernel spreads "
                            "connections over them) and learns of the others' control-plane changes through the "
                            "store; a worker that exits is restarted; SIGTERM drains them all. Without shared "
                            "state (--redis) throttles, quotas, caches and WebSocket connections are per worker")
    serve.add_argument("--drain-delay", type=float, default=0.0, metavar="SECONDS",
                       help="on SIGTERM, answer /_apiway/ready with 503 and go on serving this long before the "
                            "listeners close (default 0; give load balancers time to stop sending), then finish "
                            "in-flight requests and close WebSocket connections with 1001")
    serve.add_argument("--access-log", default=None, metavar="-|FILE",
                       help="also write every stage's access-log lines to stdout (-) or append them to FILE (a stage "
                            "without accessLogSettings in the CLF format)")
    serve.add_argument("--metrics-per-key", action="store_true",
                       help="/metrics also counts requests by API key id (one series per key in use)")
    serve.add_argument("--no-metrics", action="store_true",
                       help="keep no metrics (CloudWatch API, /metrics and the dashboard's charts stay empty)")
    serve.add_argument("--parameter-overrides", nargs="+", type=_parameter, default=[], metavar="KEY=VALUE",
                       help="a SAM or CloudFormation template's parameters (as `sam deploy` takes them); the others "
                            "keep their Default")
    serve.add_argument("--server", choices=("native", "uvicorn"), default="native",
                       help="HTTP front-end: native (uvloop + httptools, the fastest; default) or uvicorn (ASGI)")
    serve.add_argument("--trace-sample-rate", type=float, default=0.05, metavar="SHARE",
                       help="traced stages sample the first request of each second and this share of the others "
                            "(default 0.05, X-Ray's default rule); OTEL_EXPORTER_OTLP_* export the traces")
    serve.add_argument("--trace-all", action="store_true",
                       help="trace every REST and HTTP API stage, not only REST stages with tracingEnabled")

    validate = sub.add_parser("validate", help="check a project file or OpenAPI document without serving",
                              description="Load and check a project file or OpenAPI document; report the "
                                          "first problem with file, line and field. Writes nothing.")
    validate.add_argument("file", type=Path)
    validate.add_argument("--stage", default=None)
    validate.add_argument("--kind", choices=("rest", "http"), default=None, type=str.lower,
                          help="check the document as this kind of API (as for serve)")
    validate.add_argument("--parameter-overrides", nargs="+", type=_parameter, default=[], metavar="KEY=VALUE",
                          help="a template's parameters (as for serve)")

    invoke = sub.add_parser("invoke", help="invoke a function of a project once, without a server",
                            description="Load one function of a project (in its mode: inline or worker), invoke "
                                        "it once with an event and print its payload JSON to stdout; the "
                                        "function's own output goes to stderr. Exit 0, or 1 when the function "
                                        "failed (its error document is printed), 2 for an unknown function or a "
                                        "bad event.")
    invoke.add_argument("name", help="function name, as under 'functions' in the project file")
    event = invoke.add_mutually_exclusive_group()
    event.add_argument("--event", type=Path, metavar="FILE", help="JSON file with the event")
    event.add_argument("--payload", metavar="JSON", help="the event as a JSON string (default {})")
    invoke.add_argument("--project", type=Path, default=Path("apiway.yaml"),
                        help="project file (default ./apiway.yaml)")

    endpoint_help = "control plane of a running apiway (default $APIWAY_ENDPOINT or http://127.0.0.1:8080)"
    endpoint = os.environ.get("APIWAY_ENDPOINT", DEFAULT_ENDPOINT)
    imp = sub.add_parser("import", help="import an OpenAPI document into a running apiway",
                         description="Create a REST API from an OpenAPI 3.0 / Swagger 2.0 document (JSON or YAML) "
                                     "through the control plane of a running apiway; with --api-id, update that "
                                     "API instead (--mode merge or overwrite). Deploy it with `apiway deploy`.")
    imp.add_argument("file", type=Path)
    imp.add_argument("--api-id", help="update this API (PutRestApi) instead of creating one")
    imp.add_argument("--mode", choices=("merge", "overwrite"), default="merge", help="with --api-id (default merge)")
    imp.add_argument("--fail-on-warnings", action="store_true", help="refuse the import if it has warnings")
    imp.add_argument("--endpoint", default=endpoint, help=endpoint_help)

    exp = sub.add_parser("export", help="export a deployed stage as OpenAPI",
                         description="Print (or write) the OpenAPI document of an API's deployed stage.")
    exp.add_argument("api_id")
    exp.add_argument("--stage", required=True)
    exp.add_argument("--type", dest="export_type", choices=("oas30", "swagger"), default="oas30")
    exp.add_argument("--format", choices=("json", "yaml"), default="json")
    exp.add_argument("--extensions", default="apigateway",
                     help="comma-separated: integrations, apigateway, authorizers, postman, or '' for none "
                          "(default apigateway)")
    exp.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    exp.add_argument("--endpoint", default=endpoint, help=endpoint_help)

    dep = sub.add_parser("deploy", help="deploy an API to a stage",
                         description="Create a deployment of the API's current definition and point the stage at "
                                     "it (the stage is created if needed); it serves at once.")
    dep.add_argument("api_id")
    dep.add_argument("--stage", required=True)
    dep.add_argument("--description")
    dep.add_argument("--endpoint", default=endpoint, help=endpoint_help)

    apis = sub.add_parser("apis", help="list the REST APIs of a running apiway",
                          description="A table of every REST API with its id, name, creation time and stages.")
    apis.add_argument("--endpoint", default=endpoint, help=endpoint_help)

    sdk = sub.add_parser("sdk", help="generate a client SDK for a deployed stage",
                         description="Generate a client SDK for a REST API's deployed stage through the control "
                                     "plane of a running apiway (GetSdk) and unpack it into a folder: javascript in "
                                     "the layout of the SDK API Gateway generates (apigClient.js, lib/), python as "
                                     "one typed module (apig_client.py).")
    sdk.add_argument("--api", required=True, metavar="ID", help="REST API id")
    sdk.add_argument("--stage", required=True)
    sdk.add_argument("--type", dest="sdk_type", required=True, choices=("javascript", "python"))
    sdk.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the SDK's files to")
    sdk.add_argument("--endpoint", default=endpoint, help=endpoint_help)

    logs = sub.add_parser("logs", help="print a function's log",
                          description="Print the log of a function that ran in worker mode under `apiway serve`: "
                                      "log group /aws/lambda/NAME under logs/groups/ beside the state file.")
    logs.add_argument("name", help="function name")
    logs.add_argument("--state", type=Path, default=None,
                      help="state file of the server (default .apiway/state.db under the working directory)")
    return parser


def _workers(value: str) -> int:
    """--workers: a positive number, or `auto` for one per CPU this process may run on."""
    if value == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number or auto")
    return count


def _parameter(value: str) -> tuple[str, str]:
    """--parameter-overrides: `Key=Value`, or `sam deploy`'s `ParameterKey=Key,ParameterValue=Value`."""
    if value.startswith("ParameterKey=") and ",ParameterValue=" in value:
        key, _, rest = value[len("ParameterKey="):].partition(",ParameterValue=")
        return key, rest
    key, sep, rest = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE")
    return key, rest


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    try:
        # Each command imports what it runs when it runs: `--help`, `invoke` and the control-plane client
        # commands start without loading the gateway, the control plane and botocore's models.
        if args.command == "serve":
            from apiway.serve import serve

            return serve(args.file, host=args.host, port=args.port, stage=args.stage, state=args.state,
                         store_url=args.store,
                         redis=RedisSettings(args.redis, args.redis_mode, args.redis_flush_ms, args.redis_failure)
                         if args.redis else None,
                         server=args.server, watch=args.watch, admin_port=args.admin_port,
                         admin_host=args.admin_host, throttle_rate=args.throttle_rate,
                         throttle_burst=args.throttle_burst, tls_cert=args.tls_cert, tls_key=args.tls_key,
                         log_limits=LogLimits(args.log_max_bytes, args.log_files, args.log_retention_days),
                         echo_functions=not args.quiet_functions, kind=args.kind,
                         ws_idle_timeout=args.ws_idle_timeout, ws_max_duration=args.ws_max_duration,
                         workers=args.workers, drain_delay=args.drain_delay, access_log=args.access_log,
                         metrics="off" if args.no_metrics else "per-key" if args.metrics_per_key else "on",
                         trace_sample_rate=args.trace_sample_rate, trace_all=args.trace_all,
                         parameter_overrides=dict(args.parameter_overrides))
        if args.command == "validate":
            from apiway.serve import validate

            return validate(args.file, stage=args.stage, kind=args.kind,
                            parameter_overrides=dict(args.parameter_overrides))
        if args.command == "invoke":
            from apiway.commands.invoke import run_invoke

            return run_invoke(args.project, args.name, args.event, args.payload)
        if args.command in ("import", "export", "deploy", "apis", "sdk"):
            return _control_command(args)
        if args.command == "logs":
            from apiway.app import default_state_path
            from apiway.commands.invoke import show_logs

            return show_logs(args.name, args.state or default_state_path(Path.cwd()))
    except (DocumentError, FunctionLoadError, DeployError, StoreError) as exc:
        print(f"apiway: {exc}", file=sys.stderr)  # bad input: a precise message, never a traceback
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return 0


def _control_command(args: argparse.Namespace) -> int:
    from apiway.control import client  # loaded on use, as in main()

    if args.command == "import":
        return client.import_api(args.endpoint, args.file, args.api_id, args.mode, args.fail_on_warnings)
    if args.command == "export":
        return client.export_api(args.endpoint, args.api_id, args.stage, args.export_type, args.format,
                                 args.extensions, args.output)
    if args.command == "deploy":
        return client.deploy_api(args.endpoint, args.api_id, args.stage, args.description)
    if args.command == "sdk":
        return client.download_sdk(args.endpoint, args.api, args.stage, args.sdk_type, args.out)
    return client.list_apis(args.endpoint)
