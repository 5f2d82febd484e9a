"""Access-log formats compiled and rendered: the console's presets, unset variables, authorizer values where each API
kind keeps them, destinations; and the execution log's masking and 1 KB cut."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from apiway.core import trail
from apiway.core.http import HttpResponse
from apiway.core.invocation import Completion
from apiway.observe.log_groups import LogGroups
from apiway.telemetry.access_log import CLF, CSV, JSON, XML, AccessLogs, compile_format, log_group_name
from apiway.telemetry.execution_log import MAX_EVENT, TRUNCATED, cut
from apiway.telemetry.hub import Equipment, StageSettings
from tests.http_apis import route_invocation
from tests.support import tell

NOW = 1_700_000_000_123


def _done(status: int = 200, body: bytes = b'{"ok":true}', **kw: object) -> Completion:
    inv = route_invocation("GET", "/prod/pets/1", stage="prod", route_key="GET /pets/{id}",
                           headers=[("Host", "abc.execute-api.localhost"), ("User-Agent", "ua/1")],
                           wall_ms=lambda: NOW, **kw)  # type: ignore[arg-type]
    return Completion(inv.request, HttpResponse(status, [], body), inv.stage, inv, None, 12)


def test_the_clf_preset():
    done = _done()
    assert done.invocation is not None
    line = tell(compile_format(CLF), done)
    rid, extended = done.invocation.request_id, done.invocation.extended_request_id
    assert line == (f'192.0.2.1 - - [14/Nov/2023:22:13:20 +0000] "GET GET /pets/{{id}} HTTP/1.1" 200 11 {rid} '
                    f"{extended}")


def test_counts_times_and_protocols_as_text_at_any_size_and_second():
    render = compile_format("$context.status $context.responseLength [$context.requestTime] $context.protocol")
    for status, size in ((200, 0), (999, 999), (1000, 1000), (204, 123_456)):
        assert tell(render, _done(status, b"x" * size)) == \
            f"{status} {size} [14/Nov/2023:22:13:20 +0000] HTTP/1.1"
    later = _done()
    assert later.invocation is not None
    later.invocation.epoch_ms = NOW + 60_000  # the cached second ends: the next one is written
    assert "[14/Nov/2023:22:14:20 +0000]" in tell(render, later)
    assert "[14/Nov/2023:22:13:20 +0000]" in tell(render, _done())  # and a request of the earlier second after it
    http2 = _done()
    http2.request.http_version = "2"
    assert tell(render, http2).endswith(" HTTP/2")
    http09 = _done()
    http09.request.http_version = "0.9"
    assert tell(render, http09).endswith(" HTTP/0.9")


def test_the_json_preset_is_json_with_unset_fields_as_dashes():
    entry = json.loads(tell(compile_format(JSON), _done(404, b"")))
    assert entry["status"] == "404" and entry["responseLength"] == "0"
    assert entry["caller"] == "-" and entry["user"] == "-"
    assert entry["requestTime"] == "14/Nov/2023:22:13:20 +0000"


def test_the_xml_and_csv_presets():
    xml = tell(compile_format(XML), _done())
    assert re.fullmatch(r'<request id="[0-9a-f-]{36}"> <extendedRequestId>.+</extendedRequestId> .* </request>', xml)
    assert "<status>200</status>" in xml and "<httpMethod>GET</httpMethod>" in xml
    fields = tell(compile_format(CSV), _done()).split(",")
    assert len(fields) == 11 and fields[2] == "192.0.2.1" and fields[8] == "200"


def test_authorizer_values_wherever_the_kind_keeps_them():
    render = compile_format("$context.authorizer.principalId|$context.authorizer.claims.sub|$context.authorizer.role|"
                            "$context.authorizer.missing|$context.identity.sourceIp|$context.unknownThing")
    assert tell(render, _done(authorizer={"principalId": "me", "claims": {"sub": "s1"}, "role": "admin"})) == \
        "me|s1|admin|-|192.0.2.1|-"
    assert tell(render, _done(authorizer={"jwt": {"claims": {"sub": "s2"}}, "lambda": {"role": "r"}})) == \
        "-|s2|r|-|192.0.2.1|-"


def test_a_variable_followed_by_punctuation_keeps_it():
    assert tell(compile_format("[$context.status.] ($context.httpMethod)"), _done()) == "[200.] (GET)"


def test_destinations():
    assert log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:my-group") == "my-group"
    assert log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:/aws/x/y:*") == "/aws/x/y"
    assert log_group_name("arn:aws:firehose:us-east-1:123456789012:deliverystream/amazon-apigateway-s") is None


def _settings(**kw: object) -> StageSettings:
    return StageSettings(kind="HTTP", api_id="abc", api_name="api", stage_name="prod", **kw)  # type: ignore[arg-type]


def test_a_firehose_destination_is_not_written_and_nothing_observes(tmp_path: Path):
    out = Equipment()
    firehose = "arn:aws:firehose:us-east-1:123456789012:deliverystream/amazon-apigateway-s"
    AccessLogs(LogGroups(tmp_path)).equip(None, _settings(access_log_format=CLF, access_log_destination=firehose),
                                          out)
    assert out.observers == []


def test_echo_alone_logs_every_stage_in_clf():
    out, echo = Equipment(), io.StringIO()
    AccessLogs(None, echo).equip(None, _settings(), out)
    tell(out.observers[0], _done())
    assert echo.getvalue().startswith("192.0.2.1 - - [14/Nov/2023:22:13:20 +0000] ") and echo.getvalue().endswith("\n")


def test_secrets_masked_as_aws_masks_them():
    assert trail.mask("short") == "*****"
    assert trail.mask("abcdefghijkl1234") == "************1234"
    headers = trail.masked_headers([("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, Signature=abcdef0123"),
                                    ("X-Amz-Security-Token", "tok"), ("Accept", "*/*"),
                                    ("X-Forwarded", "a; Signature=0123456789abcdef")])
    assert "AKIDEXAMPLE" not in headers and "tok" not in headers and "0123456789ab" not in headers
    assert "Accept=*/*" in headers and "Signature=************cdef" in headers


def test_events_cut_at_one_kilobyte_on_a_character_boundary():
    assert cut("short") == "short"
    long = "é" * 1000  # two bytes each
    cut_line = cut(long)
    assert cut_line.endswith(TRUNCATED)
    assert len(cut_line.removesuffix(TRUNCATED).encode()) <= MAX_EVENT
    assert cut("a" * MAX_EVENT) == "a" * MAX_EVENT


def test_execution_log_groups_as_aws_names_them():
    from apiway.telemetry.execution_log import log_group

    rest = StageSettings(kind="REST", api_id="a1", api_name="n", stage_name="prod")
    assert log_group(rest) == "API-Gateway-Execution-Logs_a1/prod"
    canary = StageSettings(kind="REST", api_id="a1", api_name="n", stage_name="prod", is_canary=True)
    assert log_group(canary) == "API-Gateway-Execution-Logs_a1/prod/Canary"
    assert log_group(StageSettings(kind="WEBSOCKET", api_id="w1", api_name="n", stage_name="dev")) == \
        "/aws/apigateway/w1/dev"
