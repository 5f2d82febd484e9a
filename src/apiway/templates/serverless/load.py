"""A Serverless Framework service file (`serverless.yml`, v3 and v4) as the project the deployer serves: its
Python functions, the REST API of its `http` events, the HTTP API of its `httpApi` events, the WebSocket API
of its `websocket` events, and `provider.apiGateway`'s API keys and usage plans. Each API is imported here
once, so that a problem names the event's line in the service file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiway.config import ApiSpec, Project
from apiway.model.documents import DocumentError, line_of
from apiway.templates.documents import BuiltApi, failed_path, imported
from apiway.templates.serverless.dotenv import read_dotenv
from apiway.templates.serverless.functions import name_functions, read_functions
from apiway.templates.serverless.http_api import read_http_api
from apiway.templates.serverless.rest import read_rest_api
from apiway.templates.serverless.service import Service
from apiway.templates.serverless.usage_plans import read_api_keys
from apiway.templates.serverless.variables import Variables
from apiway.templates.serverless.websocket import read_websocket_api
from apiway.templates.yaml_loader import read_template

SERVICE_NAMES = ("serverless.yml", "serverless.yaml")
TOP_KEYS = ("service", "frameworkVersion", "provider", "functions", "custom", "resources", "plugins", "package",
            "useDotenv", "variablesResolutionMode", "configValidationMode", "unresolvedVariablesNotificationMode",
            "deprecationNotificationMode", "disabledDeprecations", "app", "org", "console", "dashboard", "params",
            "layers", "stages", "build", "license", "outputs")
QUIET_PLUGINS = ("serverless-offline", "serverless-python-requirements")
# Events of other AWS services: their functions are served, the event source is not emulated.
OTHER_EVENTS = ("schedule", "sns", "sqs", "s3", "stream", "eventBridge", "cloudwatchEvent", "cloudwatchLog",
                "cognitoUserPool", "alb", "alexaSkill", "alexaSmartHome", "iot", "iotFleetProvisioning",
                "cloudFront", "kafka", "msk", "activemq", "rabbitmq")
ACCEPTED_RESOURCES = ("AWS::Lambda::Permission", "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup")


def is_service_file(path: Path) -> bool:
    """serverless.yml/.yaml, or any YAML file whose top keys are a service's (`service` and `provider`)."""
    if path.name in SERVICE_NAMES:
        return True
    return path.suffix in (".yml", ".yaml") and _top_keys(path) >= {"service", "provider"}


def _top_keys(path: Path) -> set[str]:
    try:
        head = path.read_text(encoding="utf-8")[:200_000]
    except (OSError, UnicodeDecodeError):
        return set()
    return {line.split(":", 1)[0].strip() for line in head.splitlines() if line[:1] not in (" ", "\t", "#", "")}


def find_service(folder: Path) -> Path | None:
    return next((folder / n for n in SERVICE_NAMES if (folder / n).is_file()), None)


def load_service(path: Path, stage: str | None) -> tuple[Project, list[str]]:
    """The service served as `stage` (`--stage`; None: `provider.stage`, else dev)."""
    path = path.resolve()
    raw, text = read_template(path)
    try:
        return _load(path, raw, text, stage)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        # A value of an unexpected shape that no check above named: still a message, never a traceback
        raise DocumentError(str(path), (), f"a setting has a shape this reader does not expect ({exc!r}); "
                                           f"`serverless print` shows the resolved file") from None


def _load(path: Path, raw: Any, text: str, stage: str | None) -> tuple[Project, list[str]]:
    def fail(where: tuple[Any, ...], message: str) -> DocumentError:
        return DocumentError(str(path), where, message, line_of(text, where))

    if not isinstance(raw, dict) or "service" not in raw:
        raise fail((), "a Serverless Framework service file is a mapping with `service` and `provider`")
    for key in raw:
        if key not in TOP_KEYS:
            raise fail((key,), f"unknown key (a service file has: {', '.join(TOP_KEYS[:8])}, …)")
    notes = _plugins(raw.get("plugins"), path, text)
    variables = Variables(raw, path.parent, fail, stage)
    if _reads_dotenv(raw):
        dotenv = read_dotenv(path.parent, variables.stage())
        if dotenv:
            variables.environ = {**dotenv, **variables.environ}
            notes.append(f"${{env:…}} also reads {', '.join(sorted(dotenv))} from .env")
    # `custom` is read through variables only: what no setting uses is not resolved (a plugin's ${ssm:…})
    config = {key: value if key == "custom" else variables.resolve(value, (key,)) for key, value in raw.items()}
    provider = config.get("provider") or {}
    if not isinstance(provider, dict):
        raise fail(("provider",), "must be a mapping (name: aws, runtime, stage, …)")
    if provider.get("name", "aws") != "aws":
        raise fail(("provider", "name"), "only provider aws is served")
    for section in ("apiGateway", "httpApi"):
        if provider.get(section) is not None and not isinstance(provider[section], dict):
            raise fail(("provider", section), "must be a mapping")
    name = config.get("service")
    name = name.get("name") if isinstance(name, dict) else name  # v1's `service: {name: …}`
    if not isinstance(name, str) or not name:
        raise fail(("service",), "the service's name is required")
    service = Service(path, text, config, variables.stage(), variables.region(), name, notes=notes)
    name_functions(service)
    functions = read_functions(service)
    events = _events(service)
    built = [b for b in (read_rest_api(service, events["http"]), read_http_api(service, events["httpApi"])) if b]
    apis = [_api_spec(service, b) for b in built]
    websocket = read_websocket_api(service, events["websocket"])
    if websocket is not None:
        apis.append(websocket)
    rest_stages = [service.stage] if events["http"] else []
    records = read_api_keys(service, rest_stages)
    _resources(service)
    service.notes.insert(0, f"service {name}, stage {service.stage}, region {service.region}")
    return Project(path, apis, functions, records=records), service.notes


def _reads_dotenv(raw: dict[str, Any]) -> bool:
    """v4 reads `.env` files always, earlier versions with `useDotenv: true`."""
    version = str(raw.get("frameworkVersion", "4")).lstrip("^~>=< ")
    return raw.get("useDotenv") is True or not version.startswith(("1", "2", "3"))


def _plugins(raw: Any, path: Path, text: str) -> list[str]:
    """The plugins that change nothing a local gateway serves pass quietly; any other is named."""
    names = raw.get("modules") if isinstance(raw, dict) else raw
    if names is None:
        return []
    if not isinstance(names, list):
        raise DocumentError(str(path), ("plugins",), "a list of plugin names", line_of(text, ("plugins",)))
    notes = []
    for i, plugin in enumerate(names):
        if str(plugin) not in QUIET_PLUGINS:
            where = ("plugins", "modules", i) if isinstance(raw, dict) else ("plugins", i)
            notes.append(f"WARNING: {path}:{line_of(text, where)}: plugin {plugin} is not run here: what it adds "
                         f"to the service (resources, events, variables) is missing")
    return notes


def _events(service: Service) -> dict[str, list[tuple[str, Any, tuple[Any, ...]]]]:
    """Events by kind: (function key, event, where). `http: GET path` and `httpApi: 'GET /path'` shorthands are
    kept as written for their readers."""
    found: dict[str, list[tuple[str, Any, tuple[Any, ...]]]] = {"http": [], "httpApi": [], "websocket": []}
    skipped: set[str] = set()
    for key, spec in (service.config.get("functions") or {}).items():
        events = (spec.get("events") or []) if isinstance(spec, dict) else []
        if not isinstance(events, list):
            raise service.fail(("functions", key, "events"), "a list of events")
        for i, event in enumerate(events):
            where = ("functions", key, "events", i)
            if not isinstance(event, dict) or len(event) != 1:
                raise service.fail(where, "an event is a mapping with one key (http, httpApi, websocket, …)")
            (kind, value), = event.items()
            at = (*where, kind)
            if kind == "http" and isinstance(value, str):
                method, _, route = value.strip().partition(" ")
                value = {"method": method, "path": route.strip()}
            if kind in found:
                found[kind].append((str(key), value, at))
            elif kind in OTHER_EVENTS:
                skipped.add(kind)
            else:
                raise service.fail(at, f"unknown event type {kind!r}")
    if skipped:
        service.notes.append(f"events not emulated (their functions are served): {', '.join(sorted(skipped))}")
    return found


def _resources(service: Service) -> None:
    kinds = sorted({str(r.get("Type")) for logical, r in service.cfn.resources.items()
                    if logical not in service.used_resources} - set(ACCEPTED_RESOURCES))
    if kinds:
        service.notes.append(f"resources not emulated (accepted, left out): {', '.join(kinds)}")


def _api_spec(service: Service, built: BuiltApi) -> ApiSpec:
    """The API as the deployer takes it; imported once here so problems are located at the event."""
    try:
        return imported(built, service.api_id(built.logical_id), f"{service.path}#{built.logical_id}")
    except DocumentError as exc:
        raise service.fail(built.origins.get(str(failed_path(exc)), built.where), exc.message) from None
