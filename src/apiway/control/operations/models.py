"""Models: JSON-schema records a method's request and responses point at by name. Create, list, get
(optionally flattened), update (description and schema only), delete (refused while a method uses the
model) and the default mapping template AWS derives from a schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from apiway.control.errors import bad_request, conflict, not_found
from apiway.control.paging import page
from apiway.control.patch import patches, replace_field, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.document_limits import DocumentTooLarge, check_depth
from apiway.model.rest import ApiDefinition

JSON = "application/json"
NAME_RE = re.compile(r"^[A-Za-z0-9]+$")
# How AWS stores a reference to another model of the same API (recorded imports).
MODEL_URL_RE = re.compile(r"^https://apigateway\.amazonaws\.com/restapis/[^/]+/models/([^/]+)$")
EMPTY_SCHEMA = "Model schema must have at least 1 property or array items defined"
INVALID_SCHEMA = "Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]"
UPDATABLE = ("/description", "/schema")

# The two models every API created through CreateRestApi starts with (recorded: names, descriptions,
# schemas; AWS's own whitespace inside the schema text is a guess).
_BUILT_IN = (
    ("Empty", "This is a default empty schema model",
     '{\n  "$schema": "http://json-schema.org/draft-04/schema#",\n  "title" : "Empty Schema",\n'
     '  "type" : "object"\n}'),
    ("Error", "This is a default error schema model",
     '{\n  "$schema" : "http://json-schema.org/draft-04/schema#",\n  "title" : "Error Schema",\n'
     '  "type" : "object",\n  "properties" : {\n    "message" : { "type" : "string" }\n  }\n}'),
)


def default_models() -> dict[str, dict[str, Any]]:
    """The built-in `Empty` and `Error` models, keyed by id like every model."""
    models = {}
    for name, description, schema in _BUILT_IN:
        model_id = ids.new_id(6)
        models[model_id] = {"id": model_id, "name": name, "contentType": JSON, "description": description,
                            "schema": schema}
    return models


def find_model(definition: ApiDefinition, name: str) -> dict[str, Any] | None:
    return next((m for m in definition["models"].values() if m.get("name") == name), None)


def _model(cp: ControlPlane, api_id: str, name: str) -> tuple[ApiDefinition, dict[str, Any]]:
    """AWS answers an unknown API and an unknown model alike (recorded)."""
    missing = not_found(f"Invalid model name specified: {name}")
    definition = cp.api_or(api_id, missing)
    model = find_model(definition, name)
    if model is None:
        raise missing
    return definition, model


def _checked_schema(schema: str | None, content_type: str) -> str:
    if not schema:
        raise bad_request(EMPTY_SCHEMA)
    if "json" in content_type.lower():
        try:
            parsed = orjson.loads(schema)
            check_depth(parsed)  # compiled into a validator that recurses with it
        except (orjson.JSONDecodeError, DocumentTooLarge):
            raise bad_request(INVALID_SCHEMA) from None
        if not isinstance(parsed, dict):
            raise bad_request(INVALID_SCHEMA)
    return schema


@operation("CreateModel")
def create_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    name = p["name"]
    if not name:
        raise bad_request("Model name must be non-empty")
    if not NAME_RE.match(name):
        raise bad_request(f"Model name must be alphanumeric: {name}")
    if find_model(definition, name) is not None:
        raise conflict("Model name already exists for this REST API")
    model = {"id": ids.new_id(6), "name": name, "contentType": p["contentType"],
             "schema": _checked_schema(p.get("schema"), p["contentType"])}
    if p.get("description"):  # an empty description is accepted and left out (recorded)
        model["description"] = p["description"]
    definition["models"][model["id"]] = model
    cp.save_api(definition)
    return dict(model)


@operation("GetModels")
def get_models(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    models = sorted(cp.api(p["restApiId"])["models"].values(), key=lambda m: m["name"])
    return page(models, p)


@operation("GetModel")
def get_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, model = _model(cp, p["restApiId"], p["modelName"])
    if p.get("flatten"):
        return dict(model, schema=flattened_schema(definition, model))
    return dict(model)


@operation("UpdateModel")
def update_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, model = _model(cp, p["restApiId"], p["modelName"])
    for patch in patches(p, "UpdateModel"):
        field = replace_field(patch, UPDATABLE)
        if field == "schema":
            model["schema"] = _checked_schema(patch.value, model["contentType"])
        else:
            set_or_clear(model, "description", patch.value)
    cp.save_api(definition)
    return dict(model)


@operation("DeleteModel")
def delete_model(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, model = _model(cp, p["restApiId"], p["modelName"])
    reference = next(_references(definition, model["name"]), None)
    if reference is not None:
        raise conflict(f"Cannot delete model '{model['name']}', is referenced in {reference[0]}: {reference[1]}")
    del definition["models"][next(k for k, m in definition["models"].items() if m is model)]
    cp.save_api(definition)


def _references(definition: ApiDefinition, name: str) -> Iterator[tuple[str, str]]:
    """Methods using the model: (`method request` | `method response`, `{path}/{verb}`), AWS's
    wording for the request side (recorded as "//ANY" for the root); the response side is a guess."""
    for resource in definition["resources"].values():
        for verb, method in (resource.get("resourceMethods") or {}).items():
            place = f"{resource['path']}/{verb}"
            if name in (method.get("requestModels") or {}).values():
                yield "method request", place
            for response in (method.get("methodResponses") or {}).values():
                if name in (response.get("responseModels") or {}).values():
                    yield "method response", place


# -- schema references: flattening and the default template ------------------------------------------

def _schema_of(model: dict[str, Any]) -> Any:
    try:
        return orjson.loads(model.get("schema") or "null")
    except orjson.JSONDecodeError:
        return None  # a non-JSON model (e.g. an XML content type): nothing to resolve


def _referenced_name(node: Any) -> str | None:
    ref = node.get("$ref") if isinstance(node, dict) else None
    match = MODEL_URL_RE.match(ref) if isinstance(ref, str) else None
    return match.group(1) if match else None


def flattened_schema(definition: ApiDefinition, model: dict[str, Any]) -> str:
    """The schema with every model it references (transitively) copied under `definitions` and the
    references pointed there (`flatten=true`; the exact layout AWS returns is a guess)."""
    schema = _schema_of(model)
    if not isinstance(schema, dict):
        return model.get("schema") or ""
    collected: dict[str, Any] = {}

    def local(node: Any) -> Any:
        if isinstance(node, list):
            return [local(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: local(v) for k, v in node.items()}
        name = _referenced_name(node)
        target = find_model(definition, name) if name else None
        if name and target is not None:
            out["$ref"] = f"#/definitions/{name}"
            if name not in collected:
                collected[name] = None  # reserve first: a model may reference itself
                referenced = _schema_of(target)
                collected[name] = local(referenced) if isinstance(referenced, dict) else {}
        return out

    flat = local(schema)
    if not collected:
        return model["schema"]
    for referenced in collected.values():
        if isinstance(referenced, dict):
            referenced.pop("$schema", None)
    flat["definitions"] = {**(flat.get("definitions") or {}), **collected}
    return orjson.dumps(flat, option=orjson.OPT_INDENT_2).decode()


@operation("GetModelTemplate")
def get_model_template(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, model = _model(cp, p["restApiId"], p["modelName"])
    return {"value": TemplateWriter(definition).write(_schema_of(model))}


class TemplateWriter:
    """A VTL skeleton that rebuilds the schema's JSON shape from `$input.path('$')`: strings quoted,
    other scalars bare, objects by property, arrays with #foreach — the style of AWS's generated
    templates (its exact layout is a guess). Model references are followed, once per branch."""

    def __init__(self, definition: ApiDefinition) -> None:
        self.definition = definition

    def write(self, schema: Any) -> str:
        lines = ["#set($inputRoot = $input.path('$'))"]
        lines += self.value(schema, "$inputRoot", "", 0, frozenset())
        return "\n".join(lines)

    def resolve(self, schema: Any, seen: frozenset[str]) -> tuple[Any, frozenset[str]]:
        name = _referenced_name(schema)
        if name is None or name in seen:
            return (None if name else schema), seen
        target = find_model(self.definition, name)
        return (_schema_of(target) if target else None), seen | {name}

    def value(self, schema: Any, ref: str, indent: str, depth: int, seen: frozenset[str]) -> list[str]:
        schema, seen = self.resolve(schema, seen)
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
            return self.object(schema["properties"], ref, indent, depth, seen)
        if kind == "array":
            return self.array(schema.get("items"), ref, indent, depth, seen)
        return [f'{indent}"{ref}"' if kind == "string" else f"{indent}{ref}"]

    def object(self, properties: dict[str, Any], ref: str, indent: str, depth: int,
               seen: frozenset[str]) -> list[str]:
        inner = indent + "  "
        lines = [f"{indent}{{"]
        names = list(properties)
        for i, name in enumerate(names):
            value = self.value(properties[name], f"{ref}.{name}", inner, depth, seen)
            value[0] = f'{inner}"{name}" : {value[0].lstrip()}'
            if i < len(names) - 1:
                value[-1] += ","
            lines += value
        return [*lines, f"{indent}}}"]

    def array(self, items: Any, ref: str, indent: str, depth: int, seen: frozenset[str]) -> list[str]:
        elem = "$elem" if depth == 0 else f"$elem{depth}"
        body = self.value(items, elem, indent + "  ", depth + 1, seen)
        body[-1] += "#if($foreach.hasNext),#end"
        return [f"{indent}[", f"#foreach({elem} in {ref})", *body, "#end", f"{indent}]"]
