"""The gateway's FunctionInvoker: each function runs in the mode its spec asks for — in the gateway
process (`inline`, the lowest latency) or in Lambda-like worker processes (`worker`).

A name may carry a qualifier (`fn:live`, `fn:3`, `fn:$LATEST`), as integration and authorizer ARNs do. A project
function has only `$LATEST`, so its qualifier is ignored; a function made through Lambda's API (`catalog`) runs
the version the qualifier names, resolved on every call, so that moving an alias moves its callers at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from apiway.core.spans import LAMBDA, Span
from apiway.functions.base import FunctionInvoker, FunctionNotFound, FunctionSpec, InvokeResult
from apiway.functions.catalog import Catalog
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
        self.catalog: Catalog | None = None  # the functions made through Lambda's API, once `manage` is called

    def manage(self, root: Path) -> Catalog:
        """Serve the functions Lambda's API made (kept under `root`), in worker mode."""
        self.catalog = Catalog(root, self.workers.load)
        return self.catalog

    def load(self, spec: FunctionSpec) -> None:
        runner: InlineRunner | WorkerRunner = self.workers if spec.mode == "worker" else self.inline
        if runner is self.workers and spec.runtime == "python":
            handler_location(spec)  # a missing file is a start-up error; the import happens in the worker
        elif spec.runtime == "nodejs":
            check_node(spec)  # no usable `node` is a start-up error
        runner.load(spec)
        self._by_name[spec.name] = runner

    def has(self, name: str) -> bool:
        if name in self._by_name:
            return True
        base = name.partition(":")[0]
        return base in self._by_name or (self.catalog is not None and self.catalog.has(base))

    def resolve(self, name: str) -> tuple[str, FunctionInvoker]:
        """The runner's key for a possibly qualified name, and the runner (FunctionNotFound when neither the
        function nor its version or alias exists)."""
        runner = self._by_name.get(name)
        if runner is not None:
            return name, runner
        base, _, qualifier = name.partition(":")
        runner = self._by_name.get(base)
        if runner is not None:
            return base, runner
        key = self.catalog.resolve(base, qualifier or None) if self.catalog is not None else None
        if key is None:
            raise FunctionNotFound(name)
        return key, self.workers

    async def invoke(self, name: str, event: Any, request_id: str, trace: str | None = None,
                     spans: list[Span] | None = None) -> InvokeResult:
        runner = self._by_name.get(name)
        key = name
        if runner is None:
            key, runner = self.resolve(name)
        if spans is None:
            return await runner.invoke(key, event, request_id, trace)
        started = time.time_ns()
        ok = False
        try:
            result = await runner.invoke(key, event, request_id, trace)
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
