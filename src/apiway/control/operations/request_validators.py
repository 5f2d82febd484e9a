"""RequestValidators: which parts of a request (parameters, body) a method checks before its
integration runs. Create, list, get, update (name and the two flags) and delete."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, not_found
from apiway.control.paging import page
from apiway.control.patch import lenient_bool, patches, replace_field
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.rest import ApiDefinition

MISSING = "Invalid Request Validator identifier specified"
BLANK_NAME = "Request Validator name cannot be blank"
UPDATABLE = ("/name", "/validateRequestParameters", "/validateRequestBody")


def _validator(cp: ControlPlane, api_id: str, validator_id: str) -> tuple[ApiDefinition, dict[str, Any]]:
    """AWS answers an unknown API with the validator's NotFound (recorded)."""
    definition = cp.api_or(api_id, not_found(MISSING))
    return definition, cp.part(definition["requestValidators"], validator_id, MISSING)


@operation("CreateRequestValidator")
def create_request_validator(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api_or(p["restApiId"], bad_request("Invalid REST API identifier specified"))  # recorded
    if not p.get("name"):
        raise bad_request(BLANK_NAME)
    validator = {"id": ids.new_id(6), "name": p["name"],
                 "validateRequestBody": bool(p.get("validateRequestBody")),
                 "validateRequestParameters": bool(p.get("validateRequestParameters"))}
    definition["requestValidators"][validator["id"]] = validator
    cp.save_api(definition)
    return dict(validator)


@operation("GetRequestValidators")
def get_request_validators(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return page(list(cp.api(p["restApiId"])["requestValidators"].values()), p)


@operation("GetRequestValidator")
def get_request_validator(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return dict(_validator(cp, p["restApiId"], p["requestValidatorId"])[1])


@operation("UpdateRequestValidator")
def update_request_validator(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, validator = _validator(cp, p["restApiId"], p["requestValidatorId"])
    for patch in patches(p, "UpdateRequestValidator"):
        field = replace_field(patch, UPDATABLE)
        if field == "name":
            if not patch.value:
                raise bad_request(BLANK_NAME)
            validator["name"] = patch.value
        else:
            validator[field] = lenient_bool(patch)  # a missing value reads as false too (recorded)
    cp.save_api(definition)
    return dict(validator)


@operation("DeleteRequestValidator")
def delete_request_validator(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, validator = _validator(cp, p["restApiId"], p["requestValidatorId"])
    del definition["requestValidators"][validator["id"]]
    cp.save_api(definition)
