"""The gateway's FunctionInvoker: each function runs in the mode its spec asks for — in the gateway
process (`inline`, the lowest latency) or in Lambda-like worker processes (`worker`)."""

from __future__ import annotations

import time
from typing import Any

from apiway.core.spans import LAMBDA, Span
from apiway.functions.base import FunctionInvoker, FunctionSpec, InvokeResult
from apiway.functions.inline import InlineRunner, handler_location
from apiway.functions.node import check_node
from apiway.functions.workers import WorkerRunner
from apiway.observe.log_groups import LogGroups

MODES = ("inline", "worker")


class Functions:
    def __init__(self, log_groups: LogGroups | None = None, echo_logs: bool = True) -> None:
        self.inline = InlineRunner()
        self.workers = WorkerRunner(echo_logs=echo_logs, log_groups=log_groups)
        self._by_name: dict[str, FunctionInvoker] = {}

    def load(self, spec: FunctionSpec) -> None:
        runner: InlineRunner | WorkerRunner = self.workers if spec.mode == "worker" else self.inline
        if runner is self.workers and spec.runtime == "python":
            handler_location(spec)  # a missing file is a start-up error; the import happens in the worker
        elif spec.runtime == "nodejs":
            check_node(spec)  # no usable `node` is a start-up error
        runner.load(spec)
        self._by_name[spec.name] = runner

    def has(self, name: str) -> bool:
        return name in self._by_name

    async def invoke(self, name: str, event: Any, request_id: str, trace: str | None = None,
                     spans: list[Span] | None = None) -> InvokeResult:
        if spans is None:
            return await self._by_name[name].invoke(name, event, request_id, trace)
        started = time.time_ns()
        ok = False
        try:
            result = await self._by_name[name].invoke(name, event, request_id, trace)
            ok = result.function_error is None
            return result
        finally:
            spans.append((LAMBDA, name, started, time.time_ns(), ok))

    def reload(self, name: str) -> None:
        """New code for `name`: fresh workers from the next invocation on, or a re-imported inline handler."""
        runner = self._by_name[name]
        if runner is self.workers:
            self.workers.reload(name)
        else:
            self.inline.reload(name)

    async def close(self) -> None:
        await self.workers.close()
