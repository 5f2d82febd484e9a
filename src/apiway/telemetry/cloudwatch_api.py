"""CloudWatch's API for the gateway's metrics (signing name `monitoring`): GetMetricStatistics, GetMetricData
(MetricStat queries; expressions are refused) and ListMetrics, in the three protocols SDKs speak to it —
Smithy RPC v2 CBOR (what botocore uses today), JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`) and
the older query protocol (form `Action=…`, XML answers). Errors are AWS's: the query error code also in
`x-amzn-query-error`, as the service is query-compatible."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import cbor2
import orjson

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.telemetry import metric_query as q
from apiway.telemetry.metrics import MetricStore

SERVICE = "GraniteServiceVersion20100801"
CBOR_PREFIX = f"/service/{SERVICE}/operation/"
XMLNS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call
MAX_DATA_POINTS = 100_800  # GetMetricData's
MAX_RESULTS = 500  # ListMetrics' page


class CloudWatchError(Exception):
    def __init__(self, code: str, message: str, shape: str | None = None) -> None:
        super().__init__(message)
        self.code = code  # the query error code: InvalidParameterValue, MissingParameter, …
        self.shape = shape or f"{code}Exception"
        self.message = message


def _time(value: Any, name: str) -> float:
    """Epoch seconds of a timestamp in any protocol's form."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
    raise CloudWatchError("InvalidParameterValue", f"The parameter {name} must be a timestamp.")


def _required(params: Mapping[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise CloudWatchError("MissingParameter", f"The parameter {name} is required.",
                              "MissingRequiredParameterException")
    return value


def _dims(raw: Any) -> dict[str, str]:
    return {str(d.get("Name")): str(d.get("Value")) for d in raw or []}


def _window(params: Mapping[str, Any], start_name: str = "StartTime") -> tuple[float, float]:
    start = _time(_required(params, start_name), start_name)
    end = _time(_required(params, "EndTime"), "EndTime")
    if start >= end:
        raise CloudWatchError("InvalidParameterValue", "The parameter StartTime must be less than the parameter "
                              "EndTime.")
    return start, end


def _period(raw: Any, start: float, end: float, limit: int = MAX_DATAPOINTS) -> int:
    try:
        period = int(raw)
    except (TypeError, ValueError):
        raise CloudWatchError("InvalidParameterValue", "The parameter Period must be an integer.") from None
    if period <= 0 or period % 60:
        raise CloudWatchError("InvalidParameterValue", "The parameter Period must be a multiple of 60.")
    points = int((end - start) // period)
    if points > limit:
        raise CloudWatchError("InvalidParameterCombination",
                              f"You have requested up to {points:,} datapoints, which exceeds the limit of "
                              f"{limit:,}. You may reduce the datapoints requested by increasing Period, "
                              "or decreasing the time range.")
    return period


class CloudWatchApi:
    """The service on the control-plane listener."""

    signing_name = "monitoring"

    def __init__(self, store: MetricStore) -> None:
        self.store = store
        self.operations: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            "GetMetricStatistics": self.get_metric_statistics, "GetMetricData": self.get_metric_data,
            "ListMetrics": self.list_metrics}

    @staticmethod
    def matches(req: HttpRequest) -> bool:
        if req.method != "POST":
            return False
        if req.path.startswith(CBOR_PREFIX):
            return True
        target = req.header("x-amz-target")
        if target is not None:
            return target.startswith(SERVICE + ".")
        return (req.path == "/" and b"Version=2010-08-01" in req.body
                and "x-www-form-urlencoded" in (req.header("content-type") or ""))

    async def handle(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        if req.path.startswith(CBOR_PREFIX):
            op = req.path[len(CBOR_PREFIX):]
            encode: Callable[[str, dict[str, Any] | CloudWatchError, str], HttpResponse] = _cbor_answer
            try:
                params = cbor2.loads(req.body) if req.body else {}
            except Exception:
                return _cbor_answer(op, CloudWatchError("SerializationException", "Invalid CBOR body",
                                                        "SerializationException"), request_id)
        elif req.header("x-amz-target") is not None:
            op = (req.header("x-amz-target") or "").partition(".")[2]
            encode = _json_answer
            try:
                params = orjson.loads(req.body) if req.body.strip() else {}
            except orjson.JSONDecodeError:
                return _json_answer(op, CloudWatchError("SerializationException", "Invalid JSON body",
                                                        "SerializationException"), request_id)
        else:
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
            op = form.pop("Action", "")
            form.pop("Version", None)
            params = _unflatten(form)
            encode = _xml_answer
        operation = self.operations.get(op)
        if operation is None:
            return encode(op, CloudWatchError("InvalidAction", f"Could not find operation {op} for version "
                                              "2010-08-01", "InvalidActionException"), request_id)
        try:
            return encode(op, operation(params if isinstance(params, dict) else {}), request_id)
        except CloudWatchError as err:
            return encode(op, err, request_id)

    # -- operations --------------------------------------------------------------------------------------
    def get_metric_statistics(self, params: Mapping[str, Any]) -> dict[str, Any]:
        namespace = str(_required(params, "Namespace"))
        metric = str(_required(params, "MetricName"))
        start, end = _window(params)
        period = _period(_required(params, "Period"), start, end)
        statistics = list(params.get("Statistics") or [])
        extended = list(params.get("ExtendedStatistics") or [])
        if bool(statistics) == bool(extended):  # AWS: "either Statistics or ExtendedStatistics, but not both"
            raise CloudWatchError("InvalidParameterCombination",
                                  "Must specify either Statistics or ExtendedStatistics, but not both.")
        for i, name in enumerate(statistics, 1):
            if name not in q.STATISTICS:
                raise CloudWatchError("InvalidParameterValue", f"The parameter Statistics.member.{i} must be a value "
                                      f"in the set [ {', '.join(q.STATISTICS)} ].")
        for name in extended:
            if not q.is_percentile(name):
                raise CloudWatchError("InvalidParameterValue", f"The parameter ExtendedStatistics contains {name}, "
                                      "which is not a percentile (p0.0 to p100).")
        dims = _dims(params.get("Dimensions"))
        unit = q.unit_of(self.store, namespace, metric, dims)
        points: list[dict[str, Any]] = []
        if params.get("Unit") not in (None, unit):  # AWS converts no units: another unit has no data
            return {"Label": metric, "Datapoints": points}
        for at, values in q.periods(self.store, namespace, metric, dims, start, end, period):
            point: dict[str, Any] = {"Timestamp": datetime.fromtimestamp(at, UTC)}
            for name in statistics:
                point[name] = q.statistic(values, name)
            if extended:
                point["ExtendedStatistics"] = {name: q.statistic(values, name) for name in extended}
            if unit:
                point["Unit"] = unit
            points.append(point)
        return {"Label": metric, "Datapoints": points}

    def get_metric_data(self, params: Mapping[str, Any]) -> dict[str, Any]:
        queries = list(_required(params, "MetricDataQueries"))
        start, end = _window(params)
        descending = (params.get("ScanBy") or "TimestampDescending") == "TimestampDescending"
        results = []
        for query in queries:
            qid = str(query.get("Id") or "")
            if query.get("Expression"):
                raise CloudWatchError("InvalidParameterValue", f"The expression of query {qid} is not supported: "
                                      "only MetricStat queries are.")
            stat = query.get("MetricStat")
            if not stat:
                raise CloudWatchError("InvalidParameterValue", f"Query {qid} needs MetricStat or Expression.")
            metric = stat.get("Metric") or {}
            name = str(metric.get("MetricName") or "")
            statistic = str(stat.get("Stat") or "")
            if statistic not in q.STATISTICS and not q.is_percentile(statistic):
                raise CloudWatchError("InvalidParameterValue", f"The statistic {statistic} of query {qid} is not "
                                      "supported.")
            period = _period(stat.get("Period"), start, end, MAX_DATA_POINTS)
            found = q.periods(self.store, str(metric.get("Namespace") or ""), name, _dims(metric.get("Dimensions")),
                              start, end, period)
            if descending:
                found.reverse()
            result: dict[str, Any] = {
                "Id": qid, "Label": query.get("Label") or name,
                "Timestamps": [datetime.fromtimestamp(at, UTC) for at, _ in found],
                "Values": [q.statistic(values, statistic) for _, values in found],
                "StatusCode": "Complete"}
            if query.get("ReturnData", True) not in (False, "false"):
                results.append(result)
        return {"MetricDataResults": results, "Messages": []}

    def list_metrics(self, params: Mapping[str, Any]) -> dict[str, Any]:
        dims = [(str(d.get("Name")), None if d.get("Value") is None else str(d.get("Value")))
                for d in params.get("Dimensions") or []]
        found = q.list_metrics(self.store, params.get("Namespace"), params.get("MetricName"), dims)
        try:
            offset = int(base64.b64decode(params.get("NextToken") or "MA==") or b"0")
        except ValueError:
            raise CloudWatchError("InvalidParameterValue", "The parameter NextToken is not valid.") from None
        page = found[offset:offset + MAX_RESULTS]
        out: dict[str, Any] = {"Metrics": [
            {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": n, "Value": v} for n, v in dims]}
            for ns, name, dims in page]}
        if offset + MAX_RESULTS < len(found):
            out["NextToken"] = base64.b64encode(str(offset + MAX_RESULTS).encode()).decode()
        return out


# -- protocols -----------------------------------------------------------------------------------------------
def _error_headers(err: CloudWatchError, request_id: str, content_type: str) -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("x-amzn-RequestId", request_id),
            ("x-amzn-query-error", f"{err.code};Sender")]


def _cbor_answer(op: str, result: dict[str, Any] | CloudWatchError, request_id: str) -> HttpResponse:
    if isinstance(result, CloudWatchError):
        body = cbor2.dumps({"__type": f"com.amazonaws.cloudwatch#{result.shape}", "message": result.message})
        headers = _error_headers(result, request_id, "application/cbor")
        headers.append(("smithy-protocol", "rpc-v2-cbor"))
        return HttpResponse(400, headers, body)
    return HttpResponse(200, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                              ("x-amzn-RequestId", request_id)],
                        cbor2.dumps(result, datetime_as_timestamp=True, timezone=UTC))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError


def _json_answer(op: str, result: dict[str, Any] | CloudWatchError, request_id: str) -> HttpResponse:
    if isinstance(result, CloudWatchError):
        return HttpResponse(400, _error_headers(result, request_id, "application/x-amz-json-1.0"),
                            orjson.dumps({"__type": f"com.amazonaws.cloudwatch#{result.shape}",
                                          "message": result.message}))
    return HttpResponse(200, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)],
                        orjson.dumps(result, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME))


def _unflatten(form: Mapping[str, str]) -> dict[str, Any]:
    """The query protocol's `A.member.1.B=v` keys as nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        parts = key.split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "member":
                continue
            if part.isdigit() and isinstance(node, dict):
                node = node.setdefault(int(part), {} if not last else value)
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            return [_lists(node[k]) for k in sorted(node)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def _xml(value: Any, name: str = "") -> str:
    if isinstance(value, dict):
        if name == "ExtendedStatistics":
            return "".join(f"<entry><key>{escape(k)}</key><value>{v}</value></entry>" for k, v in value.items())
        return "".join(f"<{k}>{_xml(v, k)}</{k}>" for k, v in value.items())
    if isinstance(value, list):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return escape(str(value))


def _xml_answer(op: str, result: dict[str, Any] | CloudWatchError, request_id: str) -> HttpResponse:
    if isinstance(result, CloudWatchError):
        body = (f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type><Code>{result.code}</Code>'
                f"<Message>{escape(result.message)}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>")
        return HttpResponse(400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode())
    body = (f'<{op}Response xmlns="{XMLNS}"><{op}Result>{_xml(result)}</{op}Result>'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{op}Response>")
    return HttpResponse(200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode())
