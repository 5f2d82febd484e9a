"""Python functions log as on Lambda: the runtime's handler on the root logger writes `logging` records as
`[LEVEL]\\t<time>\\t<request id>\\t<message>`, or as JSON lines with AWS_LAMBDA_LOG_FORMAT=JSON, while `print`
stays raw; the lines land in the function's log group."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.test_node_functions import client, invoke, until
from tests.support import Server

HANDLER = """import logging
import os

if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:  # the function's own level, else the one Lambda's runtime set
    logging.getLogger().setLevel(logging.INFO)
logger = logging.getLogger("orders")

def handler(event, context):
    print("raw print", context.aws_request_id)
    logging.info("info line %s", event["n"])
    logger.warning("warned", extra={"order": 7})
    logging.debug("not shown")
    try:
        1 / 0
    except ZeroDivisionError:
        logger.exception("failed")
    return {"rid": context.aws_request_id}
"""
PROJECT = """functions:
  Text: {handler: app.py:handler}
  Json: {handler: app.py:handler, environment: {AWS_LAMBDA_LOG_FORMAT: JSON, AWS_LAMBDA_LOG_LEVEL: WARN}}
"""


def test_lambda_log_format_for_python_logging(serve, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    (tmp_path / "apiway.yaml").write_text(PROJECT)
    server: Server = serve(tmp_path / "apiway.yaml")
    lam, logs = client("lambda", server), client("logs", server)

    rid = invoke(lam, "Text", {"n": 1})[1]["rid"]
    lines = until(lambda: [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/Text")["events"]
                           if "REPORT" in e["message"]] and
                  [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/Text")["events"]])
    assert f"raw print {rid}" in lines
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert any(re.fullmatch(rf"\[INFO\]\t{stamp}\t{rid}\tinfo line 1", line) for line in lines), lines
    assert any(re.fullmatch(rf"\[WARNING\]\t{stamp}\t{rid}\twarned", line) for line in lines)
    assert any(re.fullmatch(rf"\[ERROR\]\t{stamp}\t{rid}\tfailed", line) for line in lines)
    assert "ZeroDivisionError: division by zero" in lines and not any("not shown" in line for line in lines)

    rid = invoke(lam, "Json", {"n": 2})[1]["rid"]
    lines = until(lambda: [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/Json")["events"]
                           if "REPORT" in e["message"]] and
                  [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/Json")["events"]])
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert f"raw print {rid}" in lines
    assert [r["message"] for r in records] == ["warned", "failed"]  # AWS_LAMBDA_LOG_LEVEL=WARN: no INFO
    warned, failed = records
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", warned["timestamp"])
    assert (warned["level"], warned["logger"], warned["requestId"], warned["order"]) == ("WARNING", "orders", rid, 7)
    assert (failed["level"], failed["errorType"], failed["errorMessage"]) == ("ERROR", "ZeroDivisionError",
                                                                            "division by zero")
    assert failed["stackTrace"] and failed["location"].endswith("app.py:handler:16")
