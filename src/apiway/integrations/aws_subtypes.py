"""HTTP APIs' AWS service integrations (`integrationSubtype`, version 1.0): the integration's
`requestParameters` name the action's parameters (AWS's integration subtype reference), each a mapping value
(`$request.body.x`, `$request.header.x`, static text…). They become the action's request — JSON for SQS,
EventBridge, Kinesis and Step Functions, a GET of AppConfig's REST path — sent SigV4-signed to the service's
endpoint; the service's answer (status, body, content type) is the route's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import orjson

from apiway.core.errors import DeployError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Integration, Invocation
from apiway.integrations.aws_service import no_endpoint
from apiway.integrations.aws_services import AwsServices, ServiceInfo, service_info
from apiway.integrations.http_api import BackendError
from apiway.integrations.upstream import UpstreamConnectError, UpstreamPool, UpstreamTimeout

# A parameter's value as the action takes it: text, a number, JSON (maps, lists) or a comma-separated list.
STR, INT, JSON, LIST = "str", "int", "json", "list"
# parameter → (the action's field, kind, required); `Region` is every subtype's optional signing region.
Params = dict[str, tuple[str, str, bool]]
_SQS_URL: Params = {"QueueUrl": ("QueueUrl", STR, True)}
_SFN_START: Params = {"StateMachineArn": ("stateMachineArn", STR, True), "Name": ("name", STR, False),
                      "Input": ("input", STR, False)}


@dataclass(frozen=True, slots=True)
class Subtype:
    service: str  # as integration ARNs name it
    action: str
    params: Params


SUBTYPES: dict[str, Subtype] = {
    "EventBridge-PutEvents": Subtype("events", "PutEvents", {
        "Detail": ("Detail", STR, True), "DetailType": ("DetailType", STR, True), "Source": ("Source", STR, True),
        "Time": ("Time", STR, False), "EventBusName": ("EventBusName", STR, False),
        "Resources": ("Resources", LIST, False), "TraceHeader": ("TraceHeader", STR, False)}),
    "SQS-SendMessage": Subtype("sqs", "SendMessage", {
        **_SQS_URL, "MessageBody": ("MessageBody", STR, True), "DelaySeconds": ("DelaySeconds", INT, False),
        "MessageAttributes": ("MessageAttributes", JSON, False),
        "MessageDeduplicationId": ("MessageDeduplicationId", STR, False),
        "MessageGroupId": ("MessageGroupId", STR, False),
        "MessageSystemAttributes": ("MessageSystemAttributes", JSON, False)}),
    "SQS-ReceiveMessage": Subtype("sqs", "ReceiveMessage", {
        **_SQS_URL, "AttributeNames": ("AttributeNames", LIST, False),
        "MaxNumberOfMessages": ("MaxNumberOfMessages", INT, False),
        "MessageAttributeNames": ("MessageAttributeNames", LIST, False),
        "ReceiveRequestAttemptId": ("ReceiveRequestAttemptId", STR, False),
        "VisibilityTimeout": ("VisibilityTimeout", INT, False), "WaitTimeSeconds": ("WaitTimeSeconds", INT, False)}),
    "SQS-DeleteMessage": Subtype("sqs", "DeleteMessage", {**_SQS_URL,
                                                          "ReceiptHandle": ("ReceiptHandle", STR, True)}),
    "SQS-PurgeQueue": Subtype("sqs", "PurgeQueue", dict(_SQS_URL)),
    "AppConfig-GetConfiguration": Subtype("appconfig", "GetConfiguration", {
        "Application": ("Application", STR, True), "Environment": ("Environment", STR, True),
        "Configuration": ("Configuration", STR, True), "ClientId": ("client_id", STR, True),
        "ClientConfigurationVersion": ("client_configuration_version", STR, False)}),
    "Kinesis-PutRecord": Subtype("kinesis", "PutRecord", {
        "StreamName": ("StreamName", STR, True), "Data": ("Data", STR, True),
        "PartitionKey": ("PartitionKey", STR, True),
        "SequenceNumberForOrdering": ("SequenceNumberForOrdering", STR, False),
        "ExplicitHashKey": ("ExplicitHashKey", STR, False)}),
    "StepFunctions-StartExecution": Subtype("states", "StartExecution", _SFN_START),
    "StepFunctions-StartSyncExecution": Subtype("states", "StartSyncExecution", {
        **_SFN_START, "TraceHeader": ("traceHeader", STR, False)}),
    "StepFunctions-StopExecution": Subtype("states", "StopExecution", {
        "ExecutionArn": ("executionArn", STR, True), "Cause": ("cause", STR, False), "Error": ("error", STR, False)}),
}
# Never passed back: the front-end frames the response itself.
_RESPONSE_SKIPPED = frozenset(("connection", "keep-alive", "transfer-encoding", "content-length"))

Value = Callable[[Invocation, None], str | None]
Compile = Callable[[str, str], Value]  # (mapping value, where) → its reader


def compile_subtype(record: dict, timeout_ms: int, pool: UpstreamPool, services: AwsServices, compile_value: Compile,
                    where: str) -> Integration:
    """An HTTP API integration with an `integrationSubtype`, ready to call; a subtype or parameter AWS does not
    know is a DeployError."""
    name = record["integrationSubtype"]
    subtype = SUBTYPES.get(name)
    if subtype is None:
        raise DeployError(f"{where}.integrationSubtype: unsupported integration subtype {name!r} "
                          f"(expected one of {', '.join(sorted(SUBTYPES))})")
    given = record.get("requestParameters") or {}
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise DeployError(f"{where}.requestParameters: a map of the action's parameters to mapping values")
    given = dict(given)
    region = given.pop("Region", None)
    unknown = sorted(set(given) - set(subtype.params))
    if unknown:
        raise DeployError(f"{where}.requestParameters: {unknown[0]!r} is not a parameter of {name}")
    missing = [p for p, (_, _, required) in subtype.params.items() if required and p not in given]
    if missing:
        raise DeployError(f"{where}.requestParameters: {name} requires parameter {missing[0]!r}")
    info = service_info(subtype.service)
    assert info is not None  # every subtype's service is in botocore's models
    endpoint = services.url(info)
    if endpoint is None:
        return no_endpoint(info)
    values = [(subtype.params[p], compile_value(text, f"{where}.requestParameters.{p}")) for p, text in given.items()]
    region_value = compile_value(region, f"{where}.requestParameters.Region") if region else None
    return SubtypeIntegration(subtype, info, endpoint, values, region_value, services, pool, timeout_ms)


class SubtypeIntegration:
    __slots__ = ("endpoint", "info", "pool", "region_value", "services", "subtype", "timeout", "values")

    def __init__(self, subtype: Subtype, info: ServiceInfo, endpoint: str,
                 values: list[tuple[tuple[str, str, bool], Value]], region_value: Value | None,
                 services: AwsServices, pool: UpstreamPool, timeout_ms: int) -> None:
        self.subtype = subtype
        self.info = info
        self.endpoint = urlsplit(endpoint)
        self.values = values
        self.region_value = region_value
        self.services = services
        self.pool = pool
        self.timeout = timeout_ms / 1000

    def _fields(self, inv: Invocation) -> dict[str, object]:
        fields: dict[str, object] = {}
        for (field, kind, _), value in self.values:
            text = value(inv, None)
            if text is None or text == "":
                continue  # the service answers for a missing required field
            fields[field] = _typed(text, kind)
        return fields

    def _request(self, fields: dict[str, object]) -> tuple[str, str, list[tuple[str, str]], bytes]:
        """(method, target, headers, body) of the action's request."""
        sub = self.subtype
        if sub.service == "appconfig":
            path = "/applications/{}/environments/{}/configurations/{}".format(
                *(quote(str(fields.pop(k, "")), safe="") for k in ("Application", "Environment", "Configuration")))
            return "GET", f"{path}?{urlencode(fields)}", [], b""
        body = {"Entries": [fields]} if sub.action == "PutEvents" else fields
        headers = [("X-Amz-Target", f"{self.info.target_prefix}.{sub.action}"),
                   ("Content-Type", f"application/x-amz-json-{self.info.json_version}")]
        return "POST", "/", headers, orjson.dumps(body)

    async def __call__(self, inv: Invocation) -> HttpResponse:
        method, target, headers, body = self._request(self._fields(inv))
        e = self.endpoint
        scheme = e.scheme or "http"
        port = e.port or (443 if scheme == "https" else 80)
        host = e.netloc
        region = self.services.region_for((self.region_value(inv, None) if self.region_value else None) or "")
        signed = await self.services.signer.sign(method, f"{scheme}://{host}{target}", [("Host", host), *headers],
                                                 body, self.info.signing_name, region)
        encoded = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in signed]
        try:
            resp = await self.pool.request(scheme, e.hostname or "", port, method, target, encoded, body,
                                           self.timeout)
        except UpstreamTimeout:
            raise BackendError(503, f"Integration timed out after {self.timeout * 1000:.0f} ms") from None
        except UpstreamConnectError as exc:
            raise BackendError(503, f"Integration could not connect: {exc}") from None
        except Exception as exc:  # protocol errors, resets mid-response
            raise BackendError(502, f"Integration answered unreadably: {exc}") from None
        if inv.notes is not None:
            inv.notes["integration.integrationStatus"] = resp.status  # keys: telemetry/notes.py
        out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers]
        return HttpResponse(resp.status, [(k, v) for k, v in out if k.lower() not in _RESPONSE_SKIPPED], resp.body)


def _typed(text: str, kind: str) -> object:
    """A mapped value as the action's field: a number or JSON when it parses, else the text as given."""
    if kind == INT:
        return int(text) if text.strip().lstrip("-").isdigit() else text
    if kind == JSON:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    if kind == LIST:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text
