"""Custom domain names and their base path mappings. They are stored for serving by Host header;
a mapping is kept under kind `basepathmapping`, keyed `{domainName}/{basePath}`."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, conflict, enum_violation, not_found, validation
from apiway.control.operations.rest_apis import ENDPOINT_TYPES, endpoint_configuration
from apiway.control.operations.tags import NO_DOMAIN_NAME, public, public_page
from apiway.control.patch import Patch, patches, path_not_supported, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.base_paths import NO_BASE_PATH
from apiway.model.rest import now
from apiway.store.kinds import BASE_PATH_MAPPING, DOMAIN_NAME

CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"  # the same for every region
REGIONAL_ZONE = "Z1UJRXOUMOOFQ8"  # execute-api in us-east-1
SECURITY_POLICIES = ("TLS_1_0", "TLS_1_2")
ROUTING_MODES = ("BASE_PATH_MAPPING_ONLY", "ROUTING_RULE_ONLY", "ROUTING_RULE_THEN_BASE_PATH_MAPPING")
_COPIED = ("certificateName", "certificateArn", "regionalCertificateName", "regionalCertificateArn",
           "ownershipVerificationCertificateArn", "policy", "endpointAccessMode")
# deprecated certificate upload fields: kept (never returned) for serving TLS later
_UPLOADED = ("certificateBody", "certificatePrivateKey", "certificateChain")
_REPLACEABLE = ("/certificateName", "/certificateArn", "/regionalCertificateName", "/regionalCertificateArn",
                "/securityPolicy", "/routingMode", "/ownershipVerificationCertificateArn", "/policy",
                "/endpointConfiguration/types/{type}", "/mutualTlsAuthentication/truststoreUri",
                "/mutualTlsAuthentication/truststoreVersion")
_MAPPING_PATHS = ("/basePath", "/restapiId", "/stage")


def domain_name(cp: ControlPlane, name: str) -> dict[str, Any]:
    return cp.record(DOMAIN_NAME, name, NO_DOMAIN_NAME)


def _enum(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise validation([enum_violation(value, where, allowed)])
    return value


def _endpoint_names(domain: dict[str, Any], region: str) -> None:
    """The CloudFront or regional names AWS assigns, for the domain's current endpoint type."""
    for field in ("distributionDomainName", "distributionHostedZoneId", "regionalDomainName", "regionalHostedZoneId"):
        domain.pop(field, None)
    dns_id = domain["_dnsId"]
    endpoint_type = domain["endpointConfiguration"]["types"][0]
    if endpoint_type == "EDGE":
        domain["distributionDomainName"] = f"d{dns_id}.cloudfront.net"
        domain["distributionHostedZoneId"] = CLOUDFRONT_ZONE
    elif endpoint_type == "REGIONAL":
        domain["regionalDomainName"] = f"d-{dns_id[:10]}.execute-api.{region}.amazonaws.com"
        domain["regionalHostedZoneId"] = REGIONAL_ZONE


def _mutual_tls(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value.get("truststoreUri"):
        raise bad_request("Invalid mutual TLS authentication: a truststoreUri is required")
    result = {"truststoreUri": value["truststoreUri"]}
    if value.get("truststoreVersion"):
        result["truststoreVersion"] = value["truststoreVersion"]
    return result


@operation("CreateDomainName")
def create_domain_name(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    name = p["domainName"]
    if not name:
        raise bad_request("No Domain Name specified")
    if cp.store.get_record(DOMAIN_NAME, name) is not None:
        raise conflict("The domain name you provided already exists.")
    domain: dict[str, Any] = {
        "domainName": name, "domainNameArn": cp.arn(f"/domainnames/{name}"),
        "endpointConfiguration": endpoint_configuration(p.get("endpointConfiguration") or {},
                                                        "createDomainNameInput"),
        "domainNameStatus": "AVAILABLE",
        "securityPolicy": _enum(p.get("securityPolicy") or "TLS_1_2", SECURITY_POLICIES,
                                "createDomainNameInput.securityPolicy"),
        "routingMode": _enum(p.get("routingMode") or ROUTING_MODES[0], ROUTING_MODES,
                             "createDomainNameInput.routingMode"),
        "tags": dict(p.get("tags") or {}), "_dnsId": ids.new_id(13),
    }
    domain.update({field: p[field] for field in _COPIED if p.get(field)})
    domain.update({f"_{field}": p[field] for field in _UPLOADED if p.get(field)})
    if p.get("certificateArn") or p.get("certificateBody"):  # the edge certificate
        domain["certificateUploadDate"] = now()
    if p.get("mutualTlsAuthentication"):
        domain["mutualTlsAuthentication"] = _mutual_tls(p["mutualTlsAuthentication"])
    _endpoint_names(domain, cp.region)
    cp.store.put_record(DOMAIN_NAME, name, domain)
    return public(domain, compact=True)


@operation("GetDomainNames")
def get_domain_names(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domains = sorted(cp.store.list_records(DOMAIN_NAME), key=lambda d: d["domainName"])
    return public_page(domains, p)


@operation("GetDomainName")
def get_domain_name(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return public(domain_name(cp, p["domainName"]))


@operation("UpdateDomainName")
def update_domain_name(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["domainName"])
    for patch in patches(p, "UpdateDomainName"):
        _patch_domain(domain, patch)
    _endpoint_names(domain, cp.region)
    cp.store.put_record(DOMAIN_NAME, domain["domainName"], domain)
    return public(domain)


def _patch_domain(domain: dict[str, Any], patch: Patch) -> None:
    parts = patch.parts
    if patch.op != "replace":
        raise path_not_supported(patch, _REPLACEABLE)
    if len(parts) == 3 and parts[:2] == ["endpointConfiguration", "types"]:
        if parts[2] not in domain["endpointConfiguration"]["types"] or patch.value not in ENDPOINT_TYPES:
            raise bad_request(f"Invalid EndpointTypes specified. Valid options are {','.join(ENDPOINT_TYPES)}")
        domain["endpointConfiguration"]["types"] = [patch.value]
    elif len(parts) == 2 and parts[0] == "mutualTlsAuthentication" and parts[1].startswith("truststore"):
        current = domain.get("mutualTlsAuthentication") or {}
        domain["mutualTlsAuthentication"] = _mutual_tls({**current, parts[1]: patch.value})
    elif parts == ["securityPolicy"]:
        domain["securityPolicy"] = _enum(patch.value, SECURITY_POLICIES, "securityPolicy")
    elif parts == ["routingMode"]:
        domain["routingMode"] = _enum(patch.value, ROUTING_MODES, "routingMode")
    elif len(parts) == 1 and parts[0] in _COPIED:
        set_or_clear(domain, parts[0], patch.value)
    else:
        raise path_not_supported(patch, _REPLACEABLE)


@operation("DeleteDomainName")
def delete_domain_name(cp: ControlPlane, p: dict[str, Any]) -> None:
    name = domain_name(cp, p["domainName"])["domainName"]
    with cp.store.transaction():
        for mapping in _mappings(cp, name):
            cp.store.delete_record(BASE_PATH_MAPPING, _mapping_key(name, mapping["basePath"]))
        cp.store.delete_record(DOMAIN_NAME, name)


# -- base path mappings ---------------------------------------------------------------------------------

def _mapping_key(domain: str, base_path: str) -> str:
    return f"{domain}/{base_path}"


def _mappings(cp: ControlPlane, domain: str) -> list[dict[str, Any]]:
    return sorted((m for m in cp.store.list_records(BASE_PATH_MAPPING) if m["_domainName"] == domain),
                  key=lambda m: m["basePath"])


def _mapping(cp: ControlPlane, domain: str, base_path: str) -> dict[str, Any]:
    domain_name(cp, domain)
    found = cp.store.get_record(BASE_PATH_MAPPING, _mapping_key(domain, base_path or NO_BASE_PATH))
    if found is None:
        raise not_found("Invalid base path mapping identifier specified")
    return found


def _check_base_path(base_path: str) -> str:
    if "/" in base_path:
        raise bad_request("API Gateway V1 doesn't support the slash character (/) in base path mappings. "
                          "To create a multi-level base path mapping, use API Gateway V2.")
    return base_path or NO_BASE_PATH


def _check_target(cp: ControlPlane, api_id: str, stage: str | None) -> None:
    if not cp.store.has_api(api_id):
        raise bad_request("Invalid REST API identifier specified")
    if stage and stage != NO_BASE_PATH and cp.store.get_stage(api_id, stage) is None:
        raise bad_request("Invalid stage identifier specified")


def _save_mapping(cp: ControlPlane, mapping: dict[str, Any], previous: str | None = None) -> dict[str, Any]:
    domain = mapping["_domainName"]
    key = _mapping_key(domain, mapping["basePath"])
    if previous != mapping["basePath"] and cp.store.get_record(BASE_PATH_MAPPING, key) is not None:
        raise conflict("Base path already exists for this domain name")
    with cp.store.transaction():
        if previous is not None and previous != mapping["basePath"]:
            cp.store.delete_record(BASE_PATH_MAPPING, _mapping_key(domain, previous))
        cp.store.put_record(BASE_PATH_MAPPING, key, mapping)
    return public(mapping, compact=True)


@operation("CreateBasePathMapping")
def create_base_path_mapping(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["domainName"])["domainName"]
    base_path = _check_base_path(p.get("basePath") or "")
    stage = p.get("stage")
    _check_target(cp, p["restApiId"], stage)
    mapping = {"basePath": base_path, "restApiId": p["restApiId"], "_domainName": domain}
    if stage and stage != NO_BASE_PATH:
        mapping["stage"] = stage
    return _save_mapping(cp, mapping)


@operation("GetBasePathMappings")
def get_base_path_mappings(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["domainName"])["domainName"]
    return public_page(_mappings(cp, domain), p)


@operation("GetBasePathMapping")
def get_base_path_mapping(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return public(_mapping(cp, p["domainName"], p["basePath"]), compact=True)


@operation("UpdateBasePathMapping")
def update_base_path_mapping(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    mapping = _mapping(cp, p["domainName"], p["basePath"])
    previous = mapping["basePath"]
    for patch in patches(p, "UpdateBasePathMapping"):
        if patch.op != "replace" or patch.path not in _MAPPING_PATHS:
            raise path_not_supported(patch, _MAPPING_PATHS)
        if patch.path == "/basePath":
            mapping["basePath"] = _check_base_path(patch.value or "")
        elif patch.path == "/restapiId":
            mapping["restApiId"] = patch.value or ""
        elif patch.value and patch.value != NO_BASE_PATH:
            mapping["stage"] = patch.value
        else:
            mapping.pop("stage", None)
    _check_target(cp, mapping["restApiId"], mapping.get("stage"))
    return _save_mapping(cp, mapping, previous)


@operation("DeleteBasePathMapping")
def delete_base_path_mapping(cp: ControlPlane, p: dict[str, Any]) -> None:
    mapping = _mapping(cp, p["domainName"], p["basePath"])
    cp.store.delete_record(BASE_PATH_MAPPING, _mapping_key(mapping["_domainName"], mapping["basePath"]))
