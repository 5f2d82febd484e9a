"""API documentation: parts (a JSON content map attached to an API entity by its location) and
versions (named, dated labels a stage can point at). Both live in the ApiDefinition, under
`documentationParts` (by id) and `documentationVersions` (by version name)."""

from __future__ import annotations

from typing import Any

import orjson

from apiway.control.errors import ControlError, bad_request, conflict, enum_violation, not_found, validation
from apiway.control.paging import page
from apiway.control.patch import patches, replace_field, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.document_limits import DocumentTooLarge, check_depth
from apiway.model.documents import DocumentError, parse_text
from apiway.model.rest import ApiDefinition, now

# Location type → the location fields it takes (recorded enum order for the error message).
_FIELDS: dict[str, tuple[str, ...]] = {
    "RESPONSE_BODY": ("path", "method", "statusCode"),
    "RESPONSE": ("path", "method", "statusCode"),
    "METHOD": ("path", "method"),
    "MODEL": ("name",),
    "AUTHORIZER": ("name",),
    "RESPONSE_HEADER": ("path", "method", "statusCode", "name"),
    "RESOURCE": ("path",),
    "PATH_PARAMETER": ("path", "method", "name"),
    "REQUEST_BODY": ("path", "method", "name"),
    "QUERY_PARAMETER": ("path", "method", "name"),
    "API": (),
    "REQUEST_HEADER": ("path", "method", "name"),
}
_NAME_REQUIRED = frozenset({"AUTHORIZER", "MODEL", "PATH_PARAMETER", "QUERY_PARAMETER", "REQUEST_HEADER",
                            "RESPONSE_HEADER"})
# What an omitted field means ("/" the root, "*" any method or status); AWS echoes it (recorded for path).
_DEFAULTS = {"path": "/", "method": "*", "statusCode": "*"}
LOCATION_STATUSES = ("DOCUMENTED", "UNDOCUMENTED")
PART_MISSING = "Invalid Documentation part identifier specified"
VERSION_MISSING = "Invalid Documentation version specified"
BAD_IMPORT = "Unable to build importer with provided input."
EXTENSION = "x-amazon-apigateway-documentation"


def _enum_error(value: Any, where: str, allowed: tuple[str, ...]) -> ControlError:
    return validation([enum_violation(value, where, allowed)])


def location(raw: Any, input_name: str) -> dict[str, str]:
    """A checked location with its defaults filled in (messages other than the enum's are guesses)."""
    if not isinstance(raw, dict):
        raise bad_request("Invalid documentation part location specified")
    kind = raw.get("type")
    if kind not in _FIELDS:
        raise _enum_error(kind, f"{input_name}.location.type", tuple(_FIELDS))
    fields = _FIELDS[kind]
    result = {"type": kind}
    for field in ("path", "method", "statusCode", "name"):
        value = raw.get(field)
        if value is None:
            if field in fields and field in _DEFAULTS:
                result[field] = _DEFAULTS[field]
        elif field not in fields:
            raise bad_request(f"Invalid location specified: '{field}' is not a valid field for type {kind}")
        else:
            result[field] = str(value)
    if kind in _NAME_REQUIRED and not result.get("name"):
        raise bad_request(f"Invalid location specified: 'name' is required for type {kind}")
    return result


def _properties(text: Any) -> str:
    if not text:
        raise bad_request("Documentation part properties must be non-empty")
    try:
        parsed = orjson.loads(text)
        check_depth(parsed)  # exported with the API by recursive walks
    except (orjson.JSONDecodeError, DocumentTooLarge):
        parsed = None
    if not isinstance(parsed, dict):
        raise bad_request("Documentation part properties must be a valid JSON object")
    return text


def _parts(definition: ApiDefinition) -> dict[str, dict[str, Any]]:
    return definition.setdefault("documentationParts", {})


def _at(parts: dict[str, dict[str, Any]], where: dict[str, str]) -> dict[str, Any] | None:
    return next((part for part in parts.values() if part["location"] == where), None)


def _new_part(where: dict[str, str], properties: str) -> dict[str, Any]:
    return {"id": ids.new_id(6), "location": where, "properties": properties}


@operation("CreateDocumentationPart")
def create_documentation_part(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    where = location(p["location"], "createDocumentationPartInput")
    parts = _parts(definition)
    if _at(parts, where) is not None:
        raise conflict("Documentation part already exists")
    part = _new_part(where, _properties(p["properties"]))
    parts[part["id"]] = part
    cp.save_api(definition)
    return part


@operation("GetDocumentationParts")
def get_documentation_parts(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    kind, status = p.get("type"), p.get("locationStatus")
    if kind is not None and kind not in _FIELDS:
        raise _enum_error(kind, "type", tuple(_FIELDS))
    if status is not None and status not in LOCATION_STATUSES:
        raise _enum_error(status, "locationStatus", LOCATION_STATUSES)
    if status == "UNDOCUMENTED":
        return page([], p)  # every stored part has content
    items = [part for part in _parts(definition).values()
             if (kind is None or part["location"]["type"] == kind)
             and (p.get("path") is None or part["location"].get("path") == p["path"])
             and (p.get("nameQuery") is None or part["location"].get("name", "").startswith(p["nameQuery"]))]
    return page(items, p)


def _part(cp: ControlPlane, definition: ApiDefinition, p: dict[str, Any]) -> dict[str, Any]:
    return cp.part(_parts(definition), p["documentationPartId"], PART_MISSING)


def _part_api(cp: ControlPlane, p: dict[str, Any]) -> ApiDefinition:
    """For reads and updates AWS words an unknown API as an unknown part (recorded); deletes say API."""
    return cp.api_or(p["restApiId"], not_found(PART_MISSING))


@operation("GetDocumentationPart")
def get_documentation_part(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return _part(cp, _part_api(cp, p), p)


@operation("UpdateDocumentationPart")
def update_documentation_part(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = _part_api(cp, p)
    part = _part(cp, definition, p)
    for patch in patches(p, "UpdateDocumentationPart"):
        replace_field(patch, ("/properties",))
        part["properties"] = _properties(patch.value)
    cp.save_api(definition)
    return part


@operation("DeleteDocumentationPart")
def delete_documentation_part(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition = cp.api(p["restApiId"])
    del _parts(definition)[_part(cp, definition, p)["id"]]
    cp.save_api(definition)


# -- import from an OpenAPI document ------------------------------------------------------------------

def parts_in(doc: Any) -> tuple[list[tuple[dict[str, str], str]], list[str]]:
    """The document's `x-amazon-apigateway-documentation` parts as (location, properties), and a
    warning for each part that cannot be taken (its wording is a guess)."""
    extension = doc.get(EXTENSION) if isinstance(doc, dict) else None
    raw = extension.get("documentationParts") if isinstance(extension, dict) else None
    found: list[tuple[dict[str, str], str]] = []
    warnings: list[str] = []
    for i, item in enumerate(raw if isinstance(raw, list) else ()):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
                raise bad_request("Documentation part properties must be a valid JSON object")
            found.append((location(item.get("location"), "importDocumentationPartsInput"),
                          orjson.dumps(item["properties"]).decode()))
        except ControlError as exc:
            warnings.append(f"Documentation part {i}: {exc.message}")
    return found, warnings


def parts_from_body(body: bytes) -> dict[str, dict[str, Any]]:
    """Parts of an imported API's document, by id (ImportRestApi takes them along, recorded)."""
    try:
        found, _ = parts_in(parse_text(body.decode("utf-8"), "body"))
    except (UnicodeDecodeError, DocumentError):
        return {}
    parts = [_new_part(where, properties) for where, properties in found]
    return {part["id"]: part for part in parts}


def import_mode(p: dict[str, Any]) -> str:
    """`merge` (the default) or `overwrite`, for ImportDocumentationParts and PutRestApi."""
    mode = (p.get("mode") or "merge").lower()
    if mode not in ("merge", "overwrite"):
        raise bad_request(f"Invalid mode specified: {p.get('mode')}. Valid options are merge,overwrite")
    return mode


def check_warnings(warnings: list[str] | None, p: dict[str, Any]) -> None:
    """An import that asks to `failOnWarnings` fails when there are any, listing them all."""
    if warnings and p.get("failOnWarnings"):
        raise bad_request("Warnings found during import:\n\t" + "\n\t".join(warnings))


@operation("ImportDocumentationParts")
def import_documentation_parts(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    mode = import_mode(p)
    try:
        doc = parse_text(p["body"].decode("utf-8"), "body")
    except (UnicodeDecodeError, DocumentError):
        raise bad_request(BAD_IMPORT) from None
    if not isinstance(doc, dict) or not (doc.get("openapi") or doc.get("swagger")):
        raise bad_request(BAD_IMPORT)
    found, warnings = parts_in(doc)
    check_warnings(warnings, p)
    if mode == "overwrite":
        definition["documentationParts"] = {}
    parts = _parts(definition)
    imported = []
    for where, properties in found:
        part = _at(parts, where)  # merge: a part at the same location gets the new content
        if part is None:
            part = _new_part(where, properties)
            parts[part["id"]] = part
        part["properties"] = properties
        imported.append(part["id"])
    cp.save_api(definition)
    return {"ids": imported, **({"warnings": warnings} if warnings else {})}


# -- versions ------------------------------------------------------------------------------------------

def _versions(definition: ApiDefinition) -> dict[str, dict[str, Any]]:
    return definition.setdefault("documentationVersions", {})


def _version(cp: ControlPlane, p: dict[str, Any]) -> tuple[ApiDefinition, dict[str, Any]]:
    definition = cp.api(p["restApiId"])
    return definition, cp.part(_versions(definition), p["documentationVersion"], VERSION_MISSING)


@operation("CreateDocumentationVersion")
def create_documentation_version(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    name = p["documentationVersion"]
    if not name:
        raise bad_request("Documentation version must be non-empty")
    versions = _versions(definition)
    if name in versions:
        raise conflict("Documentation version already exists")
    stage = cp.stage(p["restApiId"], p["stageName"]) if p.get("stageName") else None
    version: dict[str, Any] = {"version": name, "createdDate": now()}
    if p.get("description"):
        version["description"] = p["description"]
    versions[name] = version
    with cp.store.transaction():
        cp.save_api(definition)
        if stage is not None:  # the stage now publishes this version
            stage["documentationVersion"] = name
            cp.store.put_stage(stage)
    return version


@operation("GetDocumentationVersions")
def get_documentation_versions(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return page(list(_versions(cp.api(p["restApiId"])).values()), p)


@operation("GetDocumentationVersion")
def get_documentation_version(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return _version(cp, p)[1]


@operation("UpdateDocumentationVersion")
def update_documentation_version(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, version = _version(cp, p)
    for patch in patches(p, "UpdateDocumentationVersion"):
        set_or_clear(version, replace_field(patch, ("/description",)), patch.value)
    cp.save_api(definition)
    return version


@operation("DeleteDocumentationVersion")
def delete_documentation_version(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, version = _version(cp, p)
    del _versions(definition)[version["version"]]
    cp.save_api(definition)
