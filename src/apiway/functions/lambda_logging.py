"""The root logger's handler in a Python function, as AWS's Python runtime installs it: `logging` records go to
stdout as `[LEVEL]\\t<UTC time>.<ms>Z\\t<request id>\\t<message>`, or with `AWS_LAMBDA_LOG_FORMAT=JSON` as one JSON
object per record (`timestamp`, `level`, `message`, `logger`, `requestId`, the exception's fields and the
record's `extra` ones). `AWS_LAMBDA_LOG_LEVEL` sets the root logger's level (INFO by default in JSON format);
`print` stays raw."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import Any

import orjson

__all__ = ["install", "set_request_id"]

_request_id = ""  # the invocation in progress ("" during init)
_TEXT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
# LogRecord's own attributes: every other one came from `extra=` and is a field of the JSON line.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                                "aws_request_id"}


def set_request_id(request_id: str) -> None:
    global _request_id
    _request_id = request_id


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(_TEXT, "%Y-%m-%dT%H:%M:%S")
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        record.aws_request_id = _request_id
        return super().format(record)


class _JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        level = min(50, max(0, record.levelno)) // 10 * 10  # custom levels land on the standard ones
        message = record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        doc: dict[str, Any] = {"timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ"),
                               "level": logging.getLevelName(level), "message": message, "logger": record.name}
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            doc["stackTrace"] = traceback.format_tb(tb)
            doc["errorType"] = exc_type.__name__
            doc["errorMessage"] = str(exc)
        doc["requestId"] = _request_id
        if record.exc_info:
            doc["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in doc and value is not None:
                doc[key] = value
        try:
            return orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS).decode() + "\n"
        except TypeError:  # beyond what orjson encodes (an integer over 64 bits): the message as text
            doc = {k: v if k != "message" else str(v) for k, v in doc.items() if k in ("timestamp", "level",
                   "message", "logger", "requestId")}
            return orjson.dumps(doc).decode() + "\n"


class _StdoutHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            sys.stdout.write(text if text.endswith("\n") else text + "\n")  # a traceback ends without one
        except Exception:
            self.handleError(record)


def install(log_format: str | None, log_level: str | None) -> None:
    json_format = (log_format or "").upper() == "JSON"
    handler = _StdoutHandler()
    handler.setFormatter(_JsonFormatter() if json_format else _TextFormatter())
    root = logging.getLogger()
    level = {"TRACE": "DEBUG"}.get((log_level or "").upper(), (log_level or "").upper())
    if not level and json_format:
        level = "INFO"
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    root.addHandler(handler)
