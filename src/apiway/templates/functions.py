"""Function resources (`AWS::Serverless::Function`, `AWS::Lambda::Function`) → the project's functions: Python
and Node.js handlers from local code (CodeUri, a CDK asset folder, inline code written out beside the template), custom
runtimes with their `bootstrap`; local layers go on the import path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from apiway.functions.base import FunctionSpec
from apiway.templates.context import Context

CDK_ASSET_PATH = "aws:asset:path"
INLINE_DIR = ".apiway/inline"


def read_functions(ctx: Context) -> list[FunctionSpec]:
    specs = []
    for logical, name in ctx.function_names.items():
        if ctx.active(logical):
            specs.append(_function(ctx, logical, name))
    return specs


def _function(ctx: Context, logical: str, name: str) -> FunctionSpec:
    base = ("Resources", logical, "Properties")
    props = ctx.resolved(logical)
    sam = ctx.resources[logical]["Type"] == "AWS::Serverless::Function"
    package = props.get("PackageType", "Zip")
    if package != "Zip":
        raise ctx.fail((*base, "PackageType"), "container image functions are not served (package the code as a "
                                               "zip: CodeUri and Handler)")
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith(("python3", "provided", "nodejs")):
        raise ctx.fail((*base, "Runtime"), f"{runtime or 'no runtime'}: only python3.x, nodejs and provided "
                                           f"runtimes are served")
    code_dir = _code_dir(ctx, logical, props, sam, runtime)
    environment = {str(k): _env_text(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()}
    layers = _layer_paths(ctx, logical, props.get("Layers") or [])
    if runtime.startswith("nodejs"):
        if layers and "NODE_PATH" not in environment:  # Lambda puts each layer's nodejs/node_modules on it
            environment["NODE_PATH"] = ":".join(str(Path(p, "nodejs", "node_modules")) for p in layers[1::2])
    elif "PYTHONPATH" not in environment:  # Lambda puts the code and each layer's python/ on the path
        environment["PYTHONPATH"] = ":".join([str(code_dir), *layers])
    timeout = props.get("Timeout", 3)
    memory = props.get("MemorySize", 128)
    try:
        timeout, memory = float(timeout), int(memory)
    except (TypeError, ValueError):
        raise ctx.fail((*base, "Timeout"), "Timeout and MemorySize are numbers") from None
    if not 0 < timeout <= 900 or not 128 <= memory <= 10240:
        raise ctx.fail((*base, "Timeout"), "Timeout is 1 to 900 seconds and MemorySize 128 to 10240 MB")
    if runtime.startswith("provided"):
        bootstrap = code_dir / "bootstrap"
        if not bootstrap.is_file():
            raise ctx.fail((*base, "CodeUri" if sam else "Code"), f"a custom runtime needs an executable "
                                                                 f"{bootstrap}")
        return FunctionSpec(name=name, handler=str(props.get("Handler", "handler")), base_dir=code_dir,
                            timeout=timeout, memory=memory, environment=environment, runtime="provided",
                            bootstrap=bootstrap)
    handler = props.get("Handler")
    if runtime.startswith("nodejs"):
        return _node_function(ctx, logical, name, code_dir, handler, timeout, memory, environment)
    if not isinstance(handler, str) or "." not in handler:
        raise ctx.fail((*base, "Handler"), "required, like app.lambda_handler (module.function)")
    module, _, function = handler.rpartition(".")
    file = module.replace(".", "/") + ".py"
    if not (code_dir / file).is_file():
        raise ctx.fail((*base, "Handler"), f"handler file not found: {code_dir / file}")
    return FunctionSpec(name=name, handler=f"{file}:{function}", base_dir=code_dir, timeout=timeout, memory=memory,
                        environment=environment)


def _node_function(ctx: Context, logical: str, name: str, code_dir: Path, handler: Any, timeout: float, memory: int,
                   environment: dict[str, str]) -> FunctionSpec:
    """A Node.js function: `Handler` is `path/file.export` under the code folder, as Lambda resolves it."""
    if not isinstance(handler, str) or "." not in handler.rpartition("/")[2]:
        raise ctx.fail(("Resources", logical, "Properties", "Handler"), "required, like app.handler (file.export)")
    return FunctionSpec(name=name, handler=handler, base_dir=code_dir, timeout=timeout, memory=memory,
                        environment=environment, runtime="nodejs")


def _env_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _code_dir(ctx: Context, logical: str, props: dict[str, Any], sam: bool, runtime: str) -> Path:
    base = ("Resources", logical, "Properties")
    root = ctx.path.parent
    if sam:
        inline = props.get("InlineCode")
        if isinstance(inline, str):
            return _write_inline(ctx, logical, inline, props.get("Handler"), runtime)
        code = props.get("CodeUri", ".")
        if not isinstance(code, str) or code.startswith("s3://"):
            raise ctx.fail((*base, "CodeUri"), "code in S3 is not served: point CodeUri at the local folder")
        folder = (root / code).resolve()
        if not folder.is_dir():
            raise ctx.fail((*base, "CodeUri"), f"folder not found: {folder}")
        return folder
    code = props.get("Code")
    metadata = ctx.resources[logical].get("Metadata") or {}
    if isinstance(metadata, dict) and isinstance(metadata.get(CDK_ASSET_PATH), str):
        folder = (root / metadata[CDK_ASSET_PATH]).resolve()  # CDK: the asset folder beside the template
        if not folder.is_dir():
            raise ctx.fail(("Resources", logical, "Metadata", CDK_ASSET_PATH), f"asset folder not found: {folder} "
                                                                               f"(run `cdk synth` again)")
        return folder
    if isinstance(code, str):  # a local path, as `aws cloudformation package` reads it
        folder = (root / code).resolve()
        if folder.is_dir():
            return folder
        raise ctx.fail((*base, "Code"), f"folder not found: {folder}")
    if isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
        return _write_inline(ctx, logical, code["ZipFile"], props.get("Handler"), runtime)
    raise ctx.fail((*base, "Code"), "code in S3 is not served: use Code.ZipFile, a local folder, or a CDK asset "
                                    "(aws:asset:path metadata)")


def _write_inline(ctx: Context, logical: str, source: str, handler: Any, runtime: str) -> Path:
    """Inline code becomes `index.py` (`index.js` for Node.js, or the handler's module) in a folder of its own
    beside the template."""
    module = handler.rpartition(".")[0] if isinstance(handler, str) and "." in handler else "index"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    folder = ctx.path.parent / INLINE_DIR / f"{logical}-{digest}"
    target = folder / (module.replace(".", "/") + (".js" if runtime.startswith("nodejs") else ".py"))
    if not target.is_file():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
        except OSError as exc:
            raise ctx.fail(("Resources", logical), f"cannot write the inline code to {target}: {exc.strerror}") \
                from None
    return folder


def _layer_paths(ctx: Context, logical: str, layers: Any) -> list[str]:
    """Local layers (`AWS::Serverless::LayerVersion` / `AWS::Lambda::LayerVersion` of this template) on the
    import path as Lambda mounts them: `python/` inside the layer, then the layer itself."""
    paths = []
    for i, layer in enumerate(layers if isinstance(layers, list) else []):
        resource = ctx.resources.get(layer) if isinstance(layer, str) else None
        if resource is None:
            ctx.notes.append(f"{logical}: layer {layer} is not local to the template: not on the import path")
            continue
        props = resource.get("Properties") or {}
        content = props.get("ContentUri") if resource.get("Type") == "AWS::Serverless::LayerVersion" \
            else (props.get("Content") if isinstance(props.get("Content"), str) else None)
        metadata = resource.get("Metadata") or {}
        if isinstance(metadata, dict) and isinstance(metadata.get(CDK_ASSET_PATH), str):
            content = metadata[CDK_ASSET_PATH]
        if not isinstance(content, str):
            raise ctx.fail(("Resources", logical, "Properties", "Layers", i), "the layer's content must be a local "
                                                                              "folder (ContentUri)")
        folder = (ctx.path.parent / content).resolve()
        paths += [str(folder / "python"), str(folder)]
    return paths
