"""Request validation (REST): a method whose request validator asks for it gets its required parameters
checked, then its body validated against the model for the request's Content-Type, before the
integration runs. Models (JSON Schema draft 4, `$ref`s between models resolved) are compiled to
validator functions at deploy time; a request pays a dictionary lookup per required parameter and one
JSON parse plus the compiled check for its body."""

from __future__ import annotations

import json
import re
from typing import Any

import fastjsonschema
import orjson

from apiway.checks.request_models import Check, compile_model, error_string
from apiway.core.errors import DeployError, GatewayError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.core.media import base_type
from apiway.core.trail import ERROR

JSON = "application/json"
_LONG_DIGITS = re.compile(rb"\d{20}")
_LOCATIONS = ("header", "multivalueheader", "path", "querystring", "multivaluequerystring")


class RequestValidationError(GatewayError):
    """A request the validator rejected; `validation_error` is `$context.error.validationErrorString`."""

    __slots__ = ("validation_error",)

    def __init__(self, response_type: str, message: str, validation_error: str) -> None:
        super().__init__(response_type, message)
        self.validation_error = validation_error


def build(site: GuardSite) -> Guard | None:
    validator_id = site.method.get("requestValidatorId")
    if not validator_id:
        return None
    validator = (site.definition.get("requestValidators") or {}).get(validator_id)
    if validator is None:
        raise DeployError(f"{site.where}: Invalid Request Validator identifier specified")
    required = _required_parameters(site) if validator.get("validateRequestParameters") else ()
    bodies = _body_checks(site) if validator.get("validateRequestBody") else {}
    if not required and not bodies:
        return None
    default = bodies.get("$default")
    missing_message = "Missing required request parameters: [{}]"

    def guard(inv: Invocation) -> None:
        try:
            if required:
                missing = [name for location, name in required if _blank(inv, location, name)]
                if missing:
                    message = missing_message.format(", ".join(missing))
                    raise RequestValidationError("BAD_REQUEST_PARAMETERS", message, message)
            if bodies:
                content_type = base_type(inv.request.header("content-type")) or JSON
                check = bodies.get(content_type, default)
                if check is not None:
                    _check_body(check, inv.request.body)
        except RequestValidationError as err:
            if inv.notes is not None or inv.trail is not None:
                _observed(inv, err)
            raise

    return guard


def _observed(inv: Invocation, err: RequestValidationError) -> None:
    """The refusal as `$context.error.validationErrorString` shows it and the execution log says it."""
    if inv.notes is not None:
        inv.notes["error.validationErrorString"] = err.validation_error  # keys: telemetry/notes.py
    if inv.trail is not None:
        content_type = base_type(inv.request.header("content-type")) or JSON
        inv.trail.append((ERROR, err.message if err.response_type == "BAD_REQUEST_PARAMETERS" else
                          f"Request body does not match model schema for content type {content_type}: "
                          f"{err.validation_error}"))


# -- parameters ---------------------------------------------------------------------------------------------
def _required_parameters(site: GuardSite) -> tuple[tuple[str, str], ...]:
    """(location, name) of every required parameter, in AWS's reporting order: sorted by the full
    `method.request.{location}.{name}` expression (headers, then path, then query string)."""
    out = []
    for key, is_required in sorted((site.method.get("requestParameters") or {}).items()):
        location, _, name = key.removeprefix("method.request.").partition(".")
        if is_required and location in _LOCATIONS and name:
            out.append((location, name))
    return tuple(out)


def _blank(inv: Invocation, location: str, name: str) -> bool:
    """Absent, empty or only whitespace: AWS requires parameters to be present and not blank."""
    if location == "path":
        value = inv.path_params.get(name)
    elif location.endswith("header"):
        value = inv.request.header(name.lower())
    elif location == "querystring":
        value = (inv.request.query_params()[0] or {}).get(name)
    else:
        return not any(v.strip() for v in (inv.request.query_params()[1] or {}).get(name) or ())
    return value is None or not value.strip()


# -- bodies -------------------------------------------------------------------------------------------------
def _body_checks(site: GuardSite) -> dict[str, Check]:
    """Lower-case content type (or `$default`) → compiled check of the model mapped to it."""
    checks: dict[str, Check] = {}
    for ctype, model in (site.method.get("requestModels") or {}).items():
        if model:
            checks[ctype if ctype == "$default" else ctype.lower()] = compile_model(site.definition, model, site.where)
    return checks


def _check_body(check: Check, body: bytes) -> None:
    """An empty body is validated as `{}` (as AWS does); a body that is not JSON is invalid."""
    try:
        data = _parse_json(body) if body else {}
        check(data)
    except fastjsonschema.JsonSchemaException as exc:
        raise RequestValidationError("BAD_REQUEST_BODY", "Invalid request body", error_string(exc)) from None
    except (ValueError, RecursionError):  # not JSON; or nested deeper than the check can follow
        raise RequestValidationError("BAD_REQUEST_BODY", "Invalid request body", "") from None


def _parse_json(body: bytes) -> Any:
    if _LONG_DIGITS.search(body):  # orjson reads integers beyond 64 bits as floats; draft 4 sees integers
        return json.loads(body, parse_constant=_not_json)
    return orjson.loads(body)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
