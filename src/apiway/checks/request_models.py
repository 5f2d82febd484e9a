"""API Gateway models compiled to checks: a model (JSON Schema draft 4) bundled with every model it
refers to (`$ref` by AWS's model URL or a document's `#/definitions/…` / `#/components/schemas/…`) and
compiled once, at deploy time; and violations described in the words of the validator AWS runs, for
`$context.error.validationErrorString`."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import fastjsonschema
import orjson

from apiway.core.errors import DeployError
from apiway.model.rest import ApiDefinition

Check = Callable[[Any], Any]  # raises fastjsonschema.JsonSchemaException for an invalid instance

DRAFT_4 = "http://json-schema.org/draft-04/schema#"
# Models every API has on AWS; a method may name them without the API declaring them.
BUILTIN_MODELS = {
    "Empty": {"$schema": DRAFT_4, "title": "Empty Schema", "type": "object"},
    "Error": {"$schema": DRAFT_4, "title": "Error Schema", "type": "object",
              "properties": {"message": {"type": "string"}}},
}
# A reference to another model: AWS's model URL, or a document's own schema section.
_MODEL_REF = re.compile(r"^(?:https?://[^/]+/restapis/[^/]+/models/|#/definitions/|#/components/schemas/)"
                        r"([^/#]+)(?:#?(/.*))?$")
_SCHEMA_ERRORS = (ValueError, TypeError, re.error, RecursionError)  # fastjsonschema's own are ValueErrors


def compile_model(definition: ApiDefinition, name: str, where: str) -> Check:
    """The model `name` with every model it references, as one draft-4 document, compiled."""
    document, keys = _bundle(definition, name, where)
    try:
        return _compile(orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode())
    except _SCHEMA_ERRORS as exc:
        culprit = next((model for model, key in keys.items() if not _compiles(document["definitions"][key])), name)
        raise DeployError(f"{where}: model {culprit!r}: invalid JSON schema: {exc}") from None


def _compiles(schema: Any) -> bool:
    """Whether one bundled model compiles on its own, its references to others left out."""
    try:
        fastjsonschema.compile({"$schema": DRAFT_4, "allOf": [_without_refs(schema)]}, handlers=_NoRemote())
    except _SCHEMA_ERRORS:
        return False
    return True


def _without_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {} if "$ref" in node else {k: _without_refs(v) for k, v in node.items()}
    return [_without_refs(v) for v in node] if isinstance(node, list) else node


@lru_cache(maxsize=512)  # methods, stages and deployments using the same models share one compiled check
def _compile(bundle: str) -> Check:
    return fastjsonschema.compile(orjson.loads(bundle), handlers=_NoRemote(), use_default=False, fast_fail=False)


class _NoRemote(dict):
    """Handlers for every URI scheme, all refusing: a schema's `id` can turn a local reference into a
    remote one, and compiling a deployment must never reach the network."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse_remote


def _refuse_remote(uri: str) -> Any:
    raise fastjsonschema.JsonSchemaDefinitionException(f"cannot resolve {uri!r}: only other models of the API")


def _bundle(definition: ApiDefinition, name: str, where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """`{"$ref": "#/definitions/m0", "definitions": {"m0": …, "m1": …}}`: the model and every model it
    reaches, each under an index (model names need no escaping then), with their references pointed at
    those entries; and model name → index. Draft 4 is forced: the only dialect API Gateway models speak."""
    schemas = {m["name"]: m.get("schema") for m in (definition.get("models") or {}).values()}
    keys: dict[str, str] = {name: "m0"}
    pending = [name]
    bundled: dict[str, Any] = {}
    while pending:
        current = pending.pop()
        schema = _schema(schemas, current, name, where)
        key = keys[current]

        def target(model: str, pointer: str, current: str = current, key: str = key) -> str:
            if model not in keys:
                if model not in schemas and model not in BUILTIN_MODELS:
                    raise DeployError(f"{where}: model {current!r} refers to unknown model {model!r}")
                keys[model] = f"m{len(keys)}"
                pending.append(model)
            return f"#/definitions/{keys[model]}{pointer}"

        own = schema.get("definitions") if isinstance(schema, dict) else None
        bundled[key] = _point_refs(schema, set(own) if isinstance(own, dict) else set(), key, target, current, where)
        if isinstance(bundled[key], dict):
            bundled[key].pop("$schema", None)
    return {"$schema": DRAFT_4, "$ref": "#/definitions/m0", "definitions": bundled}, keys


def _schema(schemas: dict[str, Any], model: str, root: str, where: str) -> Any:
    text = schemas.get(model)
    if text is None:
        if model in BUILTIN_MODELS:
            return BUILTIN_MODELS[model]
        raise DeployError(f"{where}: unknown model {model!r}" + ("" if model == root else f" (used by {root!r})"))
    if not isinstance(text, str):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise DeployError(f"{where}: model {model!r}: the schema is not JSON") from None


def _point_refs(node: Any, own: set[str], key: str, target: Callable[[str, str], str], model: str, where: str) -> Any:
    """Copy of `node` with each `$ref` pointing into the bundle: other models by name or URL, and the
    model's own JSON pointers (`#/definitions/x` among its `own` definitions, `#/properties/…`) under its
    entry."""
    if isinstance(node, list):
        return [_point_refs(v, own, key, target, model, where) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _point_refs(v, own, key, target, model, where) for k, v in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str):
        match = _MODEL_REF.match(ref)
        if match and not (ref.startswith("#/definitions/") and match.group(1) in own):
            out["$ref"] = target(match.group(1), match.group(2) or "")
        elif ref.startswith("#"):
            out["$ref"] = f"#/definitions/{key}{ref[1:]}"
        else:
            raise DeployError(f"{where}: model {model!r}: unsupported $ref {ref!r} (only other models of the API)")
    return out


# -- $context.error.validationErrorString ---------------------------------------------------------------------
def error_string(exc: fastjsonschema.JsonSchemaException) -> str:
    """AWS lists every violation in its validator's words: `[object has missing required properties
    (["name"]), …]`."""
    errors = getattr(exc, "errors", None) or [exc]
    return "[" + ", ".join(_describe(e) for e in errors) + "]"


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


_TYPE_NAMES: dict[type, str] = {str: "string", dict: "object", list: "array"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _TYPE_NAMES.get(type(value), "unknown")


def _describe(error: Any) -> str:
    rule = getattr(error, "rule", None)
    value: Any = getattr(error, "value", None)
    spec: Any = getattr(error, "rule_definition", None)
    definition = getattr(error, "definition", None) or {}
    if rule == "type":
        allowed = spec if isinstance(spec, list) else [spec]
        return (f"instance type ({_type_name(value)}) does not match any allowed primitive type "
                f"(allowed: {_json(allowed)})")
    if rule == "required" and isinstance(value, dict):
        return f"object has missing required properties ({_json(sorted(p for p in spec if p not in value))})"
    if rule == "enum":
        return f"instance value ({_json(value)}) not found in enum (possible values: {_json(spec)})"
    if rule == "minimum":
        if definition.get("exclusiveMinimum") is True:
            return f"numeric instance is not strictly greater than the required minimum {spec}"
        return f"numeric instance is lower than the required minimum (minimum: {spec}, found: {value})"
    if rule == "maximum":
        if definition.get("exclusiveMaximum") is True:
            return f"numeric instance is not strictly lower than the required maximum {spec}"
        return f"numeric instance is greater than the required maximum (maximum: {spec}, found: {value})"
    if rule == "minLength":
        return f"string {_json(value)} is too short (length: {len(value)}, required minimum: {spec})"
    if rule == "maxLength":
        return f"string {_json(value)} is too long (length: {len(value)}, maximum allowed: {spec})"
    if rule == "pattern":
        return f"ECMA 262 regex {_json(spec)} does not match input string {_json(value)}"
    if rule == "minItems":
        return f"array is too short: must have at least {spec} elements but instance has {len(value)} elements"
    if rule == "maxItems":
        return f"array is too long: must have at most {spec} elements but instance has {len(value)} elements"
    if rule == "uniqueItems":
        return "array must not contain duplicate elements"
    if rule == "additionalProperties" and isinstance(value, dict):
        patterns = [re.compile(p) for p in definition.get("patternProperties") or {}]
        extra = sorted(k for k in value if k not in (definition.get("properties") or {})
                       and not any(p.search(k) for p in patterns))
        return f"object instance has properties which are not allowed by the schema: {_json(extra)}"
    if rule == "oneOf":
        matched = re.search(r"\((\d+) matches found\)", str(getattr(error, "message", "")))
        return (f"instance failed to match exactly one schema (matched {matched.group(1) if matched else 0} "
                f"out of {len(spec)})")
    if rule == "anyOf":
        return f"instance failed to match at least one required schema among {len(spec)}"
    if rule == "not":
        return "instance matched a schema which it should not have"
    if rule == "multipleOf":
        return f"remainder of division is not zero ({value} / {spec})"
    if rule == "minProperties":
        return f"object has too few properties (found {len(value)} but schema requires at least {spec})"
    if rule == "maxProperties":
        return f"object has too many properties (found {len(value)} but schema requires at most {spec})"
    return str(getattr(error, "message", error))
