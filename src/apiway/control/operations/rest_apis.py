"""RestApi operations: create, list, get, update (patch), delete, and import/put from OpenAPI."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, enum_violation, validation
from apiway.control.operations.documentation import check_warnings, import_mode, parts_from_body
from apiway.control.operations.models import default_models
from apiway.control.paging import page
from apiway.control.patch import (
    BAD_LIST_OP,
    Patch,
    as_bool,
    patch_list,
    patches,
    require_ops,
    set_or_clear,
    unsupported,
)
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.documents import DocumentError, parse_text
from apiway.model.rest import ApiDefinition, RestApi, now
from apiway.openapi.importer import import_openapi

ENDPOINT_TYPES = ("PRIVATE", "EDGE", "REGIONAL")
IP_ADDRESS_TYPES = ("ipv4", "dualstack")
API_KEY_SOURCES = ("HEADER", "AUTHORIZER")
MISSING_PATHS = "Failed to parse the uploaded OpenAPI document due to: 'paths' is a required property"
MAX_COMPRESSION = 10485760


def new_definition(name: str, api_id: str | None = None) -> ApiDefinition:
    root_id = ids.new_resource_id()
    api: RestApi = {
        "id": api_id or ids.new_api_id(),
        "name": name,
        "createdDate": now(),
        "apiKeySource": "HEADER",
        "endpointConfiguration": {"types": ["EDGE"], "ipAddressType": "ipv4"},
        "disableExecuteApiEndpoint": False,
        "rootResourceId": root_id,
    }
    return {"restApi": api, "resources": {root_id: {"id": root_id, "path": "/"}}, "gatewayResponses": {},
            "models": {}, "requestValidators": {}, "authorizers": {}}


def endpoint_configuration(config: Any, input_name: str) -> dict[str, Any]:
    """Checked `endpointConfiguration`, errors worded and ordered as AWS does."""
    if not isinstance(config, dict):
        raise bad_request("Invalid endpoint configuration")
    types = config.get("types")
    if types is None:
        types = ["EDGE"]
    ip_type = config.get("ipAddressType")
    errors = []
    if not isinstance(types, list) or any(t not in ENDPOINT_TYPES for t in types):
        errors.append(f"Value '[{', '.join(map(str, types if isinstance(types, list) else [types]))}]' at "
                      f"'{input_name}.endpointConfiguration.types' failed to satisfy constraint: Member must "
                      f"satisfy constraint: [Member must satisfy enum value set: [{', '.join(ENDPOINT_TYPES)}]]")
    if ip_type is not None and ip_type not in IP_ADDRESS_TYPES:
        errors.append(enum_violation(ip_type, f"{input_name}.endpointConfiguration.ipAddressType", IP_ADDRESS_TYPES))
    if errors:
        raise validation(errors)
    if not types:
        raise bad_request("REGIONAL Configuration and EDGE Configuration cannot be both DISABLED.")
    if len(types) > 1:
        raise bad_request("Cannot create an api with multiple Endpoint Types.")
    private = types[0] == "PRIVATE"
    if ip_type is None:
        ip_type = "dualstack" if private else "ipv4"
    if private and ip_type != "dualstack":
        raise bad_request("Only dualstack ipAddressType is supported for Private APIs.")
    result: dict[str, Any] = {"types": list(types), "ipAddressType": ip_type}
    if config.get("vpcEndpointIds"):
        result["vpcEndpointIds"] = list(config["vpcEndpointIds"])
    return result


def _compression(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COMPRESSION:
        raise bad_request(f"Invalid minimum compression size, must be between 0 and {MAX_COMPRESSION}")
    return value


@operation("CreateRestApi")
def create_rest_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    config = p.get("endpointConfiguration")
    endpoint = endpoint_configuration(config, "createRestApiInput") if config is not None else None
    if p.get("description") == "":
        raise bad_request("Description cannot be an empty string")
    definition = new_definition(p["name"])
    definition["models"] = default_models()  # Empty and Error, on created APIs only (recorded)
    api = definition["restApi"]
    if endpoint:
        api["endpointConfiguration"] = endpoint
    for key in ("description", "version", "policy"):
        if p.get(key):
            api[key] = p[key]  # type: ignore[literal-required]
    if p.get("binaryMediaTypes"):
        api["binaryMediaTypes"] = list(p["binaryMediaTypes"])
    if "minimumCompressionSize" in p:
        api["minimumCompressionSize"] = _compression(p["minimumCompressionSize"])
    if p.get("apiKeySource") is not None:
        if p["apiKeySource"] not in API_KEY_SOURCES:  # an enum of CreateRestApi's input: AWS's input validation
            raise validation([enum_violation(p["apiKeySource"], "createRestApiInput.apiKeySource",
                                             sorted(API_KEY_SOURCES))])
        api["apiKeySource"] = p["apiKeySource"]
    if p.get("disableExecuteApiEndpoint") is not None:
        api["disableExecuteApiEndpoint"] = bool(p["disableExecuteApiEndpoint"])
    if p.get("tags"):
        api["tags"] = dict(p["tags"])
    if p.get("cloneFrom"):
        source = cp.api(p["cloneFrom"])
        for key in ("resources", "gatewayResponses", "models", "requestValidators", "authorizers"):
            definition[key] = source[key]  # type: ignore[literal-required]
        api["rootResourceId"] = source["restApi"]["rootResourceId"]
    cp.save_api(definition)
    return dict(api)


@operation("GetRestApis")
def get_rest_apis(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    apis = sorted((d["restApi"] for d in cp.store.list_apis()), key=lambda a: (a["createdDate"], a["id"]))
    return page(apis, p)


@operation("GetRestApi")
def get_rest_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return dict(cp.api(p["restApiId"])["restApi"])


@operation("DeleteRestApi")
def delete_rest_api(cp: ControlPlane, p: dict[str, Any]) -> None:
    cp.store.delete_api(cp.api_id(p["restApiId"]))  # its stages stop serving at once (on the change event)


@operation("UpdateRestApi")
def update_rest_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    api = definition["restApi"]
    for patch in patches(p, "UpdateRestApi"):
        _patch_rest_api(api, patch)
    api.setdefault("tags", {})
    cp.save_api(definition)
    return dict(api)


_REPLACEABLE = ("description", "version", "policy", "apiKeySource")


def _patch_rest_api(api: RestApi, patch: Patch) -> None:
    parts = patch.parts
    field = parts[0] if parts else ""
    if field == "binaryMediaTypes":
        if len(parts) != 2:
            raise unsupported(patch)
        patch_list(api.setdefault("binaryMediaTypes", []), parts[1], patch)
        if not api["binaryMediaTypes"]:
            del api["binaryMediaTypes"]
        return
    if field == "endpointConfiguration":
        _patch_endpoint(api, parts[1:], patch)
        return
    require_ops(patch, ("replace",))
    if len(parts) != 1:
        raise unsupported(patch)
    if field == "name":
        api["name"] = patch.value  # type: ignore[typeddict-item]
    elif field in _REPLACEABLE:
        if field == "apiKeySource" and patch.value not in API_KEY_SOURCES:
            raise bad_request(f"Invalid API Key Source specified. Valid options are {','.join(API_KEY_SOURCES)}")
        set_or_clear(api, field, patch.value)
    elif field == "minimumCompressionSize":
        if patch.value in (None, ""):
            api.pop("minimumCompressionSize", None)
        else:
            try:
                api["minimumCompressionSize"] = _compression(int(patch.value or ""))
            except ValueError:
                raise bad_request(f"Invalid minimum compression size, must be between 0 and {MAX_COMPRESSION}") \
                    from None
    elif field == "disableExecuteApiEndpoint":
        api["disableExecuteApiEndpoint"] = as_bool(patch)
    else:
        raise unsupported(patch)


def _patch_endpoint(api: RestApi, parts: list[str], patch: Patch) -> None:
    config = api["endpointConfiguration"]
    if parts == ["ipAddressType"]:
        require_ops(patch, ("replace",))
        if patch.value not in IP_ADDRESS_TYPES:
            raise bad_request("ipAddressType must be either ipv4 or dualstack.")
        if config["types"] == ["PRIVATE"] and patch.value != "dualstack":
            raise bad_request("Only dualstack ipAddressType is supported for Private APIs.")
        config["ipAddressType"] = patch.value or ""
    elif len(parts) == 2 and parts[0] == "types":
        if patch.op != "replace":
            raise bad_request(BAD_LIST_OP)  # AWS's wording, though only replace is accepted (recorded)
        if patch.value not in ENDPOINT_TYPES:
            raise bad_request("Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE")
        config["types"] = [patch.value or ""]
        if patch.value == "PRIVATE":
            config["ipAddressType"] = "dualstack"
    else:
        raise unsupported(patch)


# -- OpenAPI import -------------------------------------------------------------------------------------

def _import(body: bytes, api_id: str | None, p: dict[str, Any]) -> ApiDefinition:
    try:
        text = body.decode("utf-8")
        doc = parse_text(text, "body")
        if p.get("failOnWarnings") and isinstance(doc, dict) and "paths" not in doc:
            # Without failOnWarnings a document without paths imports as an empty API.
            raise bad_request(MISSING_PATHS)
        return import_openapi(doc, text, "body", api_id)
    except UnicodeDecodeError:
        raise bad_request("Invalid OpenAPI input.") from None
    except DocumentError as exc:
        raise bad_request(f"Invalid OpenAPI input: {exc}") from None


def _apply_import_parameters(definition: ApiDefinition, params: dict[str, str]) -> None:
    types = params.get("endpointConfigurationTypes")
    if types:
        definition["restApi"]["endpointConfiguration"] = endpoint_configuration(
            {"types": types.split(",")}, "importRestApiInput")


@operation("ImportRestApi")
def import_rest_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = _import(p["body"], None, p)
    _apply_import_parameters(definition, p.get("parameters") or {})
    definition["restApi"].setdefault("endpointConfiguration", {"types": ["EDGE"]})
    definition["restApi"]["endpointConfiguration"].setdefault("ipAddressType", "ipv4")
    check_warnings(definition["restApi"].get("warnings"), p)
    definition["documentationParts"] = parts_from_body(p["body"])
    cp.save_api(definition)
    return dict(definition["restApi"])


@operation("PutRestApi")
def put_rest_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    current = cp.api(p["restApiId"])
    mode = import_mode(p)
    incoming = _import(p["body"], current["restApi"]["id"], p)
    check_warnings(incoming["restApi"].get("warnings"), p)
    merged = overwrite(current, incoming) if mode == "overwrite" else merge(current, incoming)
    cp.save_api(merged)
    return dict(merged["restApi"])


def overwrite(current: ApiDefinition, incoming: ApiDefinition) -> ApiDefinition:
    """Everything comes from the document except what AWS keeps: id, creation date, endpoint
    configuration, tags (stages, deployments and keys live elsewhere and are untouched)."""
    api = incoming["restApi"]
    kept = current["restApi"]
    api["createdDate"] = kept["createdDate"]
    api["endpointConfiguration"] = kept["endpointConfiguration"]
    if kept.get("tags"):
        api["tags"] = kept["tags"]
    return incoming


def merge(current: ApiDefinition, incoming: ApiDefinition) -> ApiDefinition:
    """Methods in the document replace same path + verb; everything else is kept."""
    by_path = {r["path"]: r for r in current["resources"].values()}
    for resource in sorted(incoming["resources"].values(), key=lambda r: r["path"]):
        existing = by_path.get(resource["path"])
        if existing is None:
            parent = by_path[resource["path"].rsplit("/", 1)[0] or "/"]
            resource = dict(resource, id=ids.new_resource_id(), parentId=parent["id"])  # type: ignore[assignment]
            current["resources"][resource["id"]] = resource
            by_path[resource["path"]] = resource
        else:
            for verb, method in (resource.get("resourceMethods") or {}).items():
                existing.setdefault("resourceMethods", {})[verb] = method
    for key in ("gatewayResponses", "models", "requestValidators", "authorizers"):
        target = current.setdefault(key, {})  # type: ignore[misc]
        names = {v.get("name"): k for k, v in target.items() if isinstance(v, dict)}
        for k, v in (incoming.get(key) or {}).items():  # type: ignore[attr-defined]
            target.pop(names.get(v.get("name")), None)
            target[k] = v
    for field in ("binaryMediaTypes", "policy", "apiKeySource", "minimumCompressionSize"):
        if field in incoming["restApi"]:
            current["restApi"][field] = incoming["restApi"][field]  # type: ignore[literal-required]
    return current

