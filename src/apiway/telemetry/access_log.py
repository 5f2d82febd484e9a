"""Access logs (spec §12.1): a stage's `accessLogSettings.format` compiled once, when the stage is, into a function
joining its literal text and the `$context` variables it names; per finished request it renders one line, which goes
to the log group `destinationArn` names and, when the server was asked to, to its own output. Unset variables
render `-`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TextIO

import orjson

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Completion, Invocation, Observer, StageRuntime, clf_time
from apiway.core.ws_invocation import WsInvocation
from apiway.observe.log import log
from apiway.observe.log_groups import LogGroups
from apiway.telemetry import notes
from apiway.telemetry.hub import Equipment, StageSettings
from apiway.telemetry.streams import stream_name

Getter = Callable[[Completion], Any]

# The console's presets (REST; HTTP and WebSocket stages take the same variables they know).
CLF = ('$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] '
       '"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength '
       '$context.requestId $context.extendedRequestId')
_FIELDS = (("requestId", "requestId"), ("extendedRequestId", "extendedRequestId"), ("ip", "identity.sourceIp"),
           ("caller", "identity.caller"), ("user", "identity.user"), ("requestTime", "requestTime"),
           ("httpMethod", "httpMethod"), ("resourcePath", "resourcePath"), ("status", "status"),
           ("protocol", "protocol"), ("responseLength", "responseLength"))
JSON = "{ " + ", ".join(f'"{k}":"$context.{v}"' for k, v in _FIELDS) + " }"
XML = ('<request id="$context.requestId"> ' + " ".join(f"<{k}>$context.{v}</{k}>" for k, v in _FIELDS[1:])
       + " </request>")
CSV = ",".join(f"$context.{v}" for _, v in _FIELDS)
PRESETS = {"CLF": CLF, "JSON": JSON, "XML": XML, "CSV": CSV}  # by the names a project file uses

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_-]+)*)")
_LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?$")


def _request_id(c: Completion) -> Any:
    inv = c.invocation
    if inv is not None:
        return inv.request_id
    return _response_header(c, "x-amzn-requestid") or _response_header(c, "apigw-requestid")


def _extended_request_id(c: Completion) -> Any:
    inv = c.invocation
    if inv is not None:
        return inv.extended_request_id
    return _response_header(c, "x-amz-apigw-id") or _response_header(c, "apigw-requestid")


def _response_header(c: Completion, name: str) -> str | None:
    return next((v for k, v in c.response.headers if k.lower() == name), None)


def _epoch_ms(stage: StageRuntime, inv: Invocation | None, latency: int) -> int:
    return inv.epoch_ms if inv is not None else stage.wall_ms() - latency


def _host(c: Completion) -> Any:
    inv = c.invocation
    if isinstance(inv, WsInvocation):
        return inv.connection.domain_name
    return c.request.header("host")


def _plan(attr: str) -> Getter:
    def get(c: Completion) -> Any:
        inv = c.invocation
        return getattr(inv.plan, attr) if inv is not None else None
    return get


def _ws(attr: str) -> Getter:
    def get(c: Completion) -> Any:
        inv = c.invocation
        return getattr(inv, attr) if isinstance(inv, WsInvocation) else None
    return get


def _note(key: str, fallback: Callable[[Invocation], Any] | None = None) -> Getter:
    def get(c: Completion) -> Any:
        inv = c.invocation
        if inv is None:
            return None
        value = inv.notes.get(key) if inv.notes is not None else None
        return value if value is not None or fallback is None else fallback(inv)
    return get


def _error_message(c: Completion) -> Any:
    """`$context.error.message`: the note a check left, else the message of the gateway response's body."""
    if c.error_type is None:
        return None
    inv = c.invocation
    if inv is not None and inv.notes is not None and (noted := inv.notes.get(notes.ERROR_MESSAGE)) is not None:
        return noted
    try:
        body = orjson.loads(c.response.body)
    except orjson.JSONDecodeError:
        return None
    return (body.get("message") or body.get("Message")) if isinstance(body, dict) else None


def _authorizer(name: str) -> Getter:
    """`$context.authorizer.{name}`: what the authorizer step noted (its latency, status, error, …), else a value
    the authorizer set (principalId, a context key, a claim) wherever the API's kind keeps it: REST at the top or
    under `claims`, HTTP APIs under `lambda` or `jwt.claims`."""
    path = tuple(name.split("."))
    candidates = (path, ("jwt", *path) if path[0] == "claims" else ("lambda", *path))

    def lookup(inv: Invocation) -> Any:
        for candidate in candidates:
            value: Any = inv.authorizer
            for part in candidate:
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                return value
        return None
    return _note("authorizer." + name, lookup)


_GETTERS: dict[str, Getter] = {
    "accountId": lambda c: c.stage.account_id,
    "identity.userAgent": lambda c: c.invocation.connection.user_agent if isinstance(c.invocation, WsInvocation)
    else c.request.header("user-agent"),
    "deploymentId": lambda c: c.stage.deployment_id,
    "domainName": _host,
    "domainPrefix": lambda c: (_host(c) or "").split(".", 1)[0] or None,
    "resourceId": _plan("resource_id"),
    "routeKey": lambda c: c.invocation.route_key if isinstance(c.invocation, WsInvocation)
    else c.invocation.plan.resource_path if c.invocation is not None else None,
    "isCanaryRequest": lambda c: c.stage.is_canary if c.stage.kind == "REST" else None,
    "dataProcessed": lambda c: len(c.request.body) + c.response.length,
    "integrationStatus": _note(notes.INTEGRATION_STATUS),
    "integrationErrorMessage": _note(notes.INTEGRATION_ERROR),
    "integration.latency": _note(notes.INTEGRATION_LATENCY, lambda inv: inv.integration_latency_ms),
    "error.message": _error_message,
    "error.messageString": lambda c: None if (m := _error_message(c)) is None else orjson.dumps(m).decode(),
    "error.responseType": lambda c: c.error_type,
    # WebSocket events
    "connectionId": lambda c: c.invocation.connection.connection_id if isinstance(c.invocation, WsInvocation)
    else None,
    "connectedAt": lambda c: c.invocation.connection.connected_at if isinstance(c.invocation, WsInvocation)
    else None,
    "eventType": _ws("event_type"),
    "messageId": _ws("message_id"),
    "disconnectStatusCode": _ws("disconnect_code"),
    "disconnectReason": lambda c: (c.invocation.disconnect_reason or None)
    if isinstance(c.invocation, WsInvocation) and c.invocation.event_type == "DISCONNECT" else None,
    "messageDirection": lambda c: "IN" if isinstance(c.invocation, WsInvocation) else None,
}


def _getter(name: str) -> Getter:
    """The getter of `$context.{name}` when it is not inlined: a known variable, an authorizer value, or what the
    pipeline noted under that name (telemetry/notes.py); anything else is always unset."""
    known = _GETTERS.get(name)
    if known is not None:
        return known
    if name.startswith("authorizer.") and len(name) > len("authorizer."):
        return _authorizer(name.removeprefix("authorizer."))
    return _note(name)


# The most used variables as expressions inlined into the renderer (no call each): (for a routed request, for one
# that matched no method, what it gives) — "str" (always a non-empty string), "int" (a count: small ones read from
# `_DIGITS`, which costs a quarter of formatting them), "opt" (a string or None: `-` inlined too) or "any" (through
# `_text`). Names: the observer's arguments (req, resp, stage, inv — None in the second expression — error,
# latency), ident (the invocation's identity) and, in the second expression only, c (the Completion they make).
_INLINE: dict[str, tuple[str, str, str]] = {
    "requestId": ("inv.request_id", "_request_id(c)", "opt"),
    "extendedRequestId": ("inv.extended_request_id", "_extended_request_id(c)", "opt"),
    "httpMethod": ("req.method", "req.method", "str"),
    "status": ("resp.status", "resp.status", "int"),
    # (a streamed body's length is its stream's; the test inline, not a property call: this is in CLF)
    "responseLength": ("(len(resp.body) if resp.stream is None else resp.stream.length)",
                       "(len(resp.body) if resp.stream is None else resp.stream.length)", "int"),
    "protocol": ("_PROTOCOLS.get(req.http_version) or 'HTTP/' + req.http_version",
                 "_PROTOCOLS.get(req.http_version) or 'HTTP/' + req.http_version", "str"),
    "identity.sourceIp": ("req.client_ip", "req.client_ip", "str"),
    "stage": ("stage.stage_name", "stage.stage_name", "str"),
    "apiId": ("stage.api_id", "stage.api_id", "str"),
    # The second's text while the request's millisecond is in it: two comparisons, no division.
    "requestTime": ("(_clf[2] if _clf[0] <= (t := inv.epoch_ms) < _clf[1] else _clf_time(t))",
                    "clf_time(_epoch_ms(stage, inv, latency) // 1000)", "str"),
    "requestTimeEpoch": ("inv.epoch_ms", "_epoch_ms(stage, inv, latency)", "str"),
    "resourcePath": ("inv.plan.resource_path", "None", "opt"),
    "path": ("inv.context_path", "req.path", "opt"),
    "responseLatency": ("latency", "latency", "str"),
    "integrationLatency": ("inv.integration_latency_ms", "None", "any"),
}

_clf: list[Any] = [0, 0, ""]  # [start ms, end ms) of the last second seen, its `requestTime`: read without a call
_DIGITS = tuple(str(n) for n in range(1000))  # statuses and short lengths as text
_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0", "2": "HTTP/2", "2.0": "HTTP/2.0"}


def _clf_time(epoch_ms: int) -> str:
    second = epoch_ms // 1000
    text = clf_time(second)
    start = second * 1000
    _clf[:] = (start, start + 1000, text)
    return text


def _text(value: Any) -> str:
    """A variable's value as the line shows it: `-` when unset or empty."""
    if value is None or value == "":
        return "-"
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _piece(expression: str, kind: str) -> str:
    """A variable as a part of the line's f-string (whose parts Python joins into one): ints formatted as str()
    would, with no call."""
    value = expression if kind == "str" else f"v if (v := ({expression})) else '-'" if kind == "opt" \
        else f"_DIGITS[n] if 0 <= (n := {expression}) < 1000 else n" if kind == "int" else f"_text({expression})"
    return f'f"{{({value})}}"'  # our expressions hold no double quote or backslash


def _literal(text: str) -> str:
    return "f" + repr(text).replace("{", "{{").replace("}", "}}")


def _compile(fmt: str, sink: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """The format as one generated function, called as an observer is, that joins its literal text and the
    variables' values in one f-string — the common variables inlined as expressions, the others through their
    getters, given a Completion made only then — and hands the line to `sink`: `return` it, or `append` it with its
    timestamp (an event of a log stream's queue)."""
    namespace.update({"_text": _text, "_request_id": _request_id, "clf_time": clf_time, "_clf": _clf,
                      "_clf_time": _clf_time, "_DIGITS": _DIGITS, "_PROTOCOLS": _PROTOCOLS,
                      "_extended_request_id": _extended_request_id, "_epoch_ms": _epoch_ms,
                      "_Completion": Completion})
    getters = False
    routed: list[str] = []
    unrouted: list[str] = []
    at = 0
    for match in _VARIABLE.finditer(fmt):
        if match.start() > at:
            routed.append(_literal(fmt[at:match.start()]))
            unrouted.append(routed[-1])
        name = match.group(1)
        inline = _INLINE.get(name)
        field = name.removeprefix("identity.")
        if inline is None and field != name and field != "userAgent" and "." not in field:
            # an identity field the checks set (caller, user, apiKey, …): usually none at all
            inline = (f"'-' if ident is None else _text(ident.get({field!r}))", "'-'", "str")
        if inline is None:
            getters = True
            key = f"g{len(namespace)}"
            namespace[key] = _getter(name)
            routed.append(_piece(f"{key}(c)", "any"))
            unrouted.append(routed[-1])
        else:
            routed.append(_piece(inline[0], inline[2]))
            unrouted.append(_piece(inline[1], inline[2]))
        at = match.end()
    if at < len(fmt) or not routed:
        routed.append(_literal(fmt[at:]))
        unrouted.append(routed[-1])
    completion = "c = _Completion(req, resp, stage, inv, error, latency)"
    source = ("def render(req, resp, stage, inv, error, latency):\n"
              + (f"    {completion}\n" if getters else "")
              + "    if inv is None:\n"
              + ("" if getters else f"        {completion}\n")
              + f"        {_sink(sink, '_epoch_ms(stage, inv, latency)', ' '.join(unrouted))}\n"
              "    ident = inv.identity\n"
              f"    {_sink(sink, 'inv.epoch_ms', ' '.join(routed))}\n")
    exec(compile(source, "<access log format>", "exec"), namespace)  # our own source: names and quoted literals
    render: Callable[..., Any] = namespace["render"]
    return render


def _sink(sink: str, timestamp: str, line: str) -> str:
    return f"return {line}" if sink == "return" else f"return append(({timestamp}, {line}))"


def compile_format(fmt: str) -> Callable[[HttpRequest, HttpResponse, StageRuntime, Invocation | None, str | None, int],
                                         str]:
    """The format as a function rendering a finished request's line, given what an observer is."""
    return _compile(fmt, "return", {})


def compile_writer(fmt: str, append: Callable[[tuple[int, str]], None]) -> Observer:
    """The format as an observer appending each finished request's event (timestamp ms, line) to a log stream's
    queue: the line's rendering and queueing in one call."""
    return _compile(fmt, "append", {"append": append})


def log_group_name(arn: str) -> str | None:
    """The log group a destination ARN names; None for any other destination (a Firehose stream)."""
    match = _LOG_GROUP_ARN.match(arn)
    return match.group(1) if match else None


class AccessLogs:
    """The access-log part: for a stage with `accessLogSettings`, an observer writing its line to the log group;
    with `echo` (the server's `--access-log`), every stage's line also goes there (CLF when the stage has no
    format of its own)."""

    def __init__(self, groups: LogGroups | None, echo: TextIO | None = None) -> None:
        self.groups = groups
        self.echo = echo

    def equip(self, runtime: Any, settings: StageSettings, out: Equipment) -> None:
        fmt = settings.access_log_format
        stream = None
        if fmt is not None and settings.access_log_destination is not None and self.groups is not None:
            group = log_group_name(settings.access_log_destination)
            if group is None:
                log("WARN", "access logs to a Firehose stream are not written; name a CloudWatch Logs log group",
                    api=settings.api_id, stage=settings.stage_name, destination=settings.access_log_destination)
            else:
                stream = self.groups.stream(group, stream_name(settings.is_canary))
        echo = self.echo
        if stream is None and echo is None:
            return
        if echo is None:
            assert stream is not None
            out.observers.append(compile_writer(fmt or CLF, stream.append))
            return
        render = compile_format(fmt or CLF)
        write = echo.write
        if stream is not None:
            append = stream.append

            def observe(req: HttpRequest, resp: HttpResponse, stage: StageRuntime, inv: Invocation | None,
                        error: str | None, latency: int) -> None:
                line = render(req, resp, stage, inv, error, latency)
                append((_epoch_ms(stage, inv, latency), line))
                write(line + "\n")
        else:
            def observe(req: HttpRequest, resp: HttpResponse, stage: StageRuntime, inv: Invocation | None,
                        error: str | None, latency: int) -> None:
                write(render(req, resp, stage, inv, error, latency) + "\n")
        out.observers.append(observe)
