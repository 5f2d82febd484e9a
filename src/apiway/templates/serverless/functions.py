"""`functions` → the project's functions: `handler: path/file.fn` run from the service's folder, named as the
Framework deploys them (`{service}-{stage}-{key}`, or `name`), with provider settings under their own."""

from __future__ import annotations

from typing import Any

from apiway.functions.base import FunctionSpec
from apiway.templates.context import FUNCTION_NAME_RE
from apiway.templates.serverless.service import Service

DEFAULT_TIMEOUT, DEFAULT_MEMORY = 6, 1024  # the Framework's defaults


def name_functions(service: Service) -> None:
    for key, spec in _functions(service).items():
        name = spec.get("name") if isinstance(spec, dict) else None
        name = name if isinstance(name, str) else f"{service.name}-{service.stage}-{key}"
        if not FUNCTION_NAME_RE.match(name):
            raise service.fail(("functions", key, "name"), f"{name!r}: a function name is letters, digits, '-' "
                                                           f"and '_', up to 64")
        service.name_function(str(key), name)


def _functions(service: Service) -> dict[str, Any]:
    functions = service.config.get("functions") or {}
    if not isinstance(functions, dict):
        raise service.fail(("functions",), "must be a mapping of function keys to functions")
    return functions


def read_functions(service: Service) -> list[FunctionSpec]:
    provider = service.config.get("provider") or {}
    return [_function(service, str(key), spec, provider) for key, spec in _functions(service).items()]


def _function(service: Service, key: str, spec: Any, provider: dict[str, Any]) -> FunctionSpec:
    where = ("functions", key)
    if not isinstance(spec, dict):
        raise service.fail(where, "must be a mapping with a handler")
    if spec.get("image") is not None:
        raise service.fail((*where, "image"), "container image functions are not served (use handler)")
    runtime = str(spec.get("runtime") or provider.get("runtime") or "")
    at = (*where, "runtime") if spec.get("runtime") else ("provider", "runtime")
    node = runtime.startswith("nodejs")
    if not runtime.startswith("python3") and not node:
        raise service.fail(at, f"{runtime or 'no runtime'}: only python3.x and nodejs functions are served")
    handler = spec.get("handler")
    if not isinstance(handler, str) or "." not in handler:
        raise service.fail((*where, "handler"), "required, like handler.hello or src/handler.hello (file.function)")
    module, _, function = handler.rpartition(".")
    folder = service.path.parent
    if not node and not (folder / f"{module}.py").is_file():
        raise service.fail((*where, "handler"), f"handler file not found: {folder / (module + '.py')}")
    environment = {**_environment(service, provider.get("environment"), ("provider", "environment")),
                   **_environment(service, spec.get("environment"), (*where, "environment"))}
    environment.setdefault("PYTHONPATH", str(folder))
    timeout = spec.get("timeout", provider.get("timeout", DEFAULT_TIMEOUT))
    memory = spec.get("memorySize", provider.get("memorySize", DEFAULT_MEMORY))
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 900:
        at = (*where, "timeout") if "timeout" in spec else ("provider", "timeout")
        raise service.fail(at, "seconds, more than 0 and at most 900")
    if isinstance(memory, bool) or not isinstance(memory, int) or not 128 <= memory <= 10240:
        at = (*where, "memorySize") if "memorySize" in spec else ("provider", "memorySize")
        raise service.fail(at, "megabytes, an integer from 128 to 10240")
    if node:  # `path/file.export` as Lambda's Node runtime resolves it (the runner finds .js, .mjs or .cjs)
        environment.pop("PYTHONPATH")
        return FunctionSpec(name=service.function_names[key], handler=handler, base_dir=folder,
                            timeout=float(timeout), memory=memory, environment=environment, runtime="nodejs")
    return FunctionSpec(name=service.function_names[key], handler=f"{module}.py:{function}", base_dir=folder,
                        timeout=float(timeout), memory=memory, environment=environment)


def _environment(service: Service, raw: Any, where: tuple[Any, ...]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise service.fail(where, "must be a mapping of variable names to values")
    out = {}
    for name, value in raw.items():
        value = service.intrinsics(value, (*where, name))
        if isinstance(value, dict | list):
            raise service.fail((*where, name), "an environment variable's value is a string")
        out[str(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
