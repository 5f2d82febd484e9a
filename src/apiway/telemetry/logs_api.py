"""The CloudWatch Logs API over the log groups (observe/log_groups.py), for boto3's `logs` client and the AWS CLI
(`--endpoint-url`): AWS's JSON 1.1 protocol, `POST /` with `X-Amz-Target: Logs_20140328.<Operation>`, errors as
`{"__type": code, "message": text}` with status 400.

Reading: DescribeLogGroups, DescribeLogStreams, GetLogEvents (forward and backward tokens), FilterLogEvents
(filter patterns: telemetry/log_filter.py; always interleaved). Writing: CreateLogGroup, DeleteLogGroup,
PutRetentionPolicy, DeleteRetentionPolicy, CreateLogStream, DeleteLogStream, PutLogEvents. Tokens are opaque: the
place of the last event returned, so a page goes on where the previous one ended even while events arrive."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.observe.log_groups import (
    Event,
    GroupExists,
    GroupInfo,
    LogGroups,
    NoSuchGroup,
    NoSuchStream,
    StreamExists,
    StreamInfo,
)
from apiway.telemetry.log_filter import InvalidPattern, compile_pattern

__all__ = ["LogsApi"]

TARGET = "Logs_20140328."
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653)
MAX_EVENTS = 10_000  # per GetLogEvents / FilterLogEvents page, AWS's limit
MAX_PAGE_BYTES = 1024 * 1024  # ... and AWS's 1 MB bound on a page
_JSON = "application/x-amz-json-1.1"


class _Fault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}"


def _missing_group() -> _Fault:
    return _Fault("ResourceNotFoundException", "The specified log group does not exist.")


def _invalid(message: str) -> _Fault:
    return _Fault("InvalidParameterException", message)


class LogsApi:
    """A service on the control plane's listener, behind the admin policy (signing name `logs`)."""

    signing_name = "logs"

    def __init__(self, groups: LogGroups) -> None:
        self.groups = groups
        self._operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "DescribeLogGroups": self.describe_log_groups, "DescribeLogStreams": self.describe_log_streams,
            "GetLogEvents": self.get_log_events, "FilterLogEvents": self.filter_log_events,
            "CreateLogGroup": self.create_log_group, "DeleteLogGroup": self.delete_log_group,
            "PutRetentionPolicy": self.put_retention_policy, "DeleteRetentionPolicy": self.delete_retention_policy,
            "CreateLogStream": self.create_log_stream, "DeleteLogStream": self.delete_log_stream,
            "PutLogEvents": self.put_log_events,
        }

    @staticmethod
    def matches(req: HttpRequest) -> bool:
        return req.method == "POST" and (req.header("x-amz-target") or "").startswith(TARGET)

    def handle(self, req: HttpRequest) -> Awaitable[HttpResponse]:
        # Reading walks files: off the event loop.
        return asyncio.get_running_loop().run_in_executor(None, self.answer, req)

    def answer(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        operation = (req.header("x-amz-target") or "")[len(TARGET):]
        try:
            call = self._operations.get(operation)
            if call is None:
                raise _Fault("UnknownOperationException", f"Operation {operation} is not supported.")
            try:
                params = orjson.loads(req.body) if req.body.strip() else {}
            except orjson.JSONDecodeError:
                raise _Fault("SerializationException", "Start of structure or map found where not expected.") from None
            if not isinstance(params, dict):
                raise _Fault("SerializationException", "Start of structure or map found where not expected.")
            body = orjson.dumps(call(params))
            return HttpResponse(200, [("Content-Type", _JSON), ("x-amzn-RequestId", request_id)], body)
        except _Fault as fault:
            return _error(fault.code, fault.message, request_id)
        except NoSuchGroup:
            return _error("ResourceNotFoundException", "The specified log group does not exist.", request_id)
        except NoSuchStream:
            return _error("ResourceNotFoundException", "The specified log stream does not exist.", request_id)
        except InvalidPattern as exc:
            return _error("InvalidParameterException", str(exc), request_id)

    # -- groups and streams ---------------------------------------------------------------------------

    def describe_log_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = _str(params, "logGroupNamePrefix") or ""
        pattern = _str(params, "logGroupNamePattern")
        if prefix and pattern:
            raise _invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        groups = self.groups.groups(prefix)
        if pattern:
            groups = [g for g in groups if pattern.lower() in g.name.lower()]
        page, token = _page(groups, params, 50)
        answer: dict[str, Any] = {"logGroups": [_group(g) for g in page]}
        if token:
            answer["nextToken"] = token
        return answer

    def describe_log_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        group = _group_name(params)
        prefix = _str(params, "logStreamNamePrefix") or ""
        order = _str(params, "orderBy") or "LogStreamName"
        if order not in ("LogStreamName", "LastEventTime"):
            raise _invalid(f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy constraint: "
                           "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
        if order == "LastEventTime" and prefix:
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        streams = self.groups.streams(group, prefix)
        if order == "LastEventTime":
            streams.sort(key=lambda s: (s.last_event or 0, s.name))
        else:
            streams.sort(key=lambda s: s.name)
        if params.get("descending"):
            streams.reverse()
        page, token = _page(streams, params, 50)
        answer: dict[str, Any] = {"logStreams": [_stream(group, s) for s in page]}
        if token:
            answer["nextToken"] = token
        return answer

    def create_log_group(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _required(params, "logGroupName")
        try:
            self.groups.create_group(name)
        except GroupExists:
            raise _Fault("ResourceAlreadyExistsException", "The specified log group already exists") from None
        if params.get("retentionInDays"):
            self.groups.set_retention(name, _retention(params))
        return {}

    def delete_log_group(self, params: dict[str, Any]) -> dict[str, Any]:
        self.groups.delete_group(_required(params, "logGroupName"))
        return {}

    def put_retention_policy(self, params: dict[str, Any]) -> dict[str, Any]:
        self.groups.set_retention(_required(params, "logGroupName"), _retention(params))
        return {}

    def delete_retention_policy(self, params: dict[str, Any]) -> dict[str, Any]:
        self.groups.set_retention(_required(params, "logGroupName"), None)
        return {}

    def create_log_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            self.groups.create_stream(_required(params, "logGroupName"), _stream_name(params))
        except StreamExists:
            raise _Fault("ResourceAlreadyExistsException", "The specified log stream already exists") from None
        return {}

    def delete_log_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self.groups.delete_stream(_required(params, "logGroupName"), _stream_name(params))
        return {}

    def put_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        group, name = _required(params, "logGroupName"), _stream_name(params)
        self.groups.stream_info(group, name)  # both must exist, as AWS has it
        events = params.get("logEvents")
        if not isinstance(events, list) or not events:
            raise _invalid("1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: "
                           "Member must not be null")
        if not all(isinstance(e, dict) and isinstance(e.get("message"), str) and isinstance(e.get("timestamp"), int)
                   for e in events):
            raise _invalid("Each log event needs a timestamp and a message.")
        stream = self.groups.stream(group, name)
        for event in events:
            stream.put(event["timestamp"], event["message"])
        return {"nextSequenceToken": "0"}

    # -- events ---------------------------------------------------------------------------------------

    def get_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        group, name = _group_name(params), _stream_name(params)
        self.groups.stream_info(group, name)
        limit = _limit(params, MAX_EVENTS)
        events = self.groups.events(group, [name], _int(params, "startTime"), _int(params, "endTime"))
        token = _str(params, "nextToken")
        forward = params.get("startFromHead") is True
        if token:
            direction, place = _place(token, _WITHIN)
            forward = direction == "f"
            events = ([e for e in events if _within(e) > place] if forward
                      else [e for e in events if _within(e) < place])
        page = _fit(events[:limit] if forward else events[-limit:], forward)
        if page:
            first, last = _within(page[0]), _within(page[-1])
        elif token:  # nothing more this way: the same token back, which is where a reader stops
            first = last = place
        else:
            first = last = [0, "", -1]
        return {"events": [{"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion}
                           for e in page],
                "nextForwardToken": _token("f", last), "nextBackwardToken": _token("b", first)}

    def filter_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        group = _group_name(params)
        names = params.get("logStreamNames")
        prefix = _str(params, "logStreamNamePrefix")
        if names is not None and prefix is not None:
            raise _invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        match = compile_pattern(_str(params, "filterPattern"))
        limit = _limit(params, MAX_EVENTS)
        if prefix is not None:
            streams: list[str] | None = [s.name for s in self.groups.streams(group, prefix)]
        elif isinstance(names, list):
            streams = [str(n) for n in names]
        else:
            streams = None
        events = self.groups.events(group, streams, _int(params, "startTime"), _int(params, "endTime"))
        token = _str(params, "nextToken")
        if token:
            _, place = _place(token, _KEY)
            events = [e for e in events if list(e.key) > place]
        picked = [e for e in events if match(e.message)]
        page = _fit(picked[:limit], True)
        searched = sorted({e.stream for e in events} | set(streams or ()))
        answer: dict[str, Any] = {
            "events": [{"logStreamName": e.stream, "timestamp": e.timestamp, "message": e.message,
                        "ingestionTime": e.ingestion, "eventId": e.event_id} for e in page],
            "searchedLogStreams": [{"logStreamName": s, "searchedCompletely": True} for s in searched]}
        if len(page) < len(picked):
            answer["nextToken"] = _token("n", list(page[-1].key))
        return answer


def _error(code: str, message: str, request_id: str) -> HttpResponse:
    headers = [("Content-Type", _JSON), ("x-amzn-RequestId", request_id)]
    return HttpResponse(400, headers, orjson.dumps({"__type": code, "message": message}))


def _group(g: GroupInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"logGroupName": g.name, "creationTime": g.creation_time, "metricFilterCount": 0,
                           "arn": _group_arn(g.name) + ":*", "logGroupArn": _group_arn(g.name),
                           "storedBytes": g.stored_bytes, "logGroupClass": "STANDARD"}
    if g.retention_days:
        out["retentionInDays"] = g.retention_days
    return out


def _stream(group: str, s: StreamInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"logStreamName": s.name, "creationTime": s.creation_time,
                           "arn": f"{_group_arn(group)}:log-stream:{s.name}", "storedBytes": s.stored_bytes}
    if s.first_event is not None:
        out["firstEventTimestamp"] = s.first_event
    if s.last_event is not None:
        out["lastEventTimestamp"] = s.last_event
        out["lastIngestionTime"] = s.last_event
    return out


def _within(e: Event) -> list[Any]:
    """An event's place within its stream."""
    return [e.timestamp, e.writer, e.seq]


def _token(kind: str, place: list[Any]) -> str:
    return f"{kind}/" + base64.urlsafe_b64encode(orjson.dumps(place)).decode().rstrip("=")


_WITHIN = (int, str, int)
_KEY = (int, str, str, int)


def _place(token: str, shape: tuple[type, ...]) -> tuple[str, list[Any]]:
    kind, _, data = token.partition("/")
    try:
        place = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        place = None
    if (kind not in ("f", "b", "n") or not isinstance(place, list) or len(place) != len(shape)
            or not all(type(v) is t for v, t in zip(place, shape, strict=True))):
        raise _invalid("The specified nextToken is invalid.")
    return kind, place


def _fit(events: list[Event], forward: bool) -> list[Event]:
    """Cut a page to AWS's 1 MB (keeping the end the reader reads from)."""
    size, kept = 0, 0
    for event in events if forward else reversed(events):
        size += len(event.message) + 26
        if size > MAX_PAGE_BYTES and kept:
            break
        kept += 1
    return events[:kept] if forward else events[len(events) - kept:]


def _page(items: list[Any], params: dict[str, Any], default: int) -> tuple[list[Any], str | None]:
    """A page of a listing, the token being the index of the next item (listings are small and stable)."""
    limit = _limit(params, default)
    token = _str(params, "nextToken")
    start = _place(token, (int,))[1][0] if token else 0
    page = items[start:start + limit]
    more = start + limit < len(items)
    return page, _token("n", [start + limit]) if more else None


def _str(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise _Fault("SerializationException", f"Expected a string for {key}.")
    return value


def _int(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise _Fault("SerializationException", f"Expected a number for {key}.")
    return value


def _limit(params: dict[str, Any], maximum: int) -> int:
    limit = _int(params, "limit")
    if limit is None:
        return maximum
    if not 1 <= limit <= maximum:
        raise _invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                       f"Member must have value between 1 and {maximum}")
    return limit


def _required(params: dict[str, Any], key: str) -> str:
    value = _str(params, key)
    if not value:
        raise _invalid(f"1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member "
                       "must not be null")
    return value


def _group_name(params: dict[str, Any]) -> str:
    """`logGroupName`, or `logGroupIdentifier` (a name or an ARN)."""
    identifier = _str(params, "logGroupIdentifier")
    if identifier and not params.get("logGroupName"):
        if identifier.startswith("arn:"):
            identifier = identifier.split(":log-group:", 1)[-1].removesuffix(":*")
        return identifier
    return _required(params, "logGroupName")


def _stream_name(params: dict[str, Any]) -> str:
    return _required(params, "logStreamName")


def _retention(params: dict[str, Any]) -> int:
    days = _int(params, "retentionInDays")
    if days not in RETENTION_DAYS:
        raise _invalid(f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
                       "constraint: Member must satisfy enum value set: " + str(list(RETENTION_DAYS)))
    assert days is not None
    return days
