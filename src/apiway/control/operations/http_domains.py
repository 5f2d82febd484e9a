"""apigatewayv2 custom domain names and API mappings. AWS keeps one set of custom domains for both services
("You can map HTTP and REST API stages to the same custom domain name"; a multi-level base path mapping
is made with API Gateway V2), so these are the same records as REST's `domainname` and `basepathmapping`
kinds (control/operations/domain_names.py), shown in apigatewayv2's shape: a mapping's `apiMappingKey`
is its `basePath` and its `apiId` the `restApiId` it routes to, which may name an API of any kind."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from apiway.control.errors import bad_request, conflict, not_found
from apiway.control.operations.domain_names import REGIONAL_ZONE, SECURITY_POLICIES, delete_domain_name, domain_name
from apiway.control.operations.http_common import enum, members, page
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids
from apiway.model.base_paths import NO_BASE_PATH
from apiway.model.rest import now
from apiway.store import http_deployments as v2store
from apiway.store.kinds import BASE_PATH_MAPPING, DOMAIN_NAME

ENDPOINT_TYPES = ("REGIONAL", "EDGE")
IP_ADDRESS_TYPES = ("ipv4", "dualstack")
# apigatewayv2's routing modes → the REST records' names for them
ROUTING_MODES = {"API_MAPPING_ONLY": "BASE_PATH_MAPPING_ONLY", "ROUTING_RULE_ONLY": "ROUTING_RULE_ONLY",
                 "ROUTING_RULE_THEN_API_MAPPING": "ROUTING_RULE_THEN_BASE_PATH_MAPPING"}
_V2_ROUTING_MODES = {v1: v2 for v2, v1 in ROUTING_MODES.items()}
_MAPPING_KEY = re.compile(r"^[A-Za-z0-9$\-_.+!*'(),]+(/[A-Za-z0-9$\-_.+!*'(),]+)*$")
NO_MAPPING_ID = "Invalid API mapping identifier specified"


# -- domain names ------------------------------------------------------------------------------------

def domain_view(record: dict[str, Any]) -> dict[str, Any]:
    """A domain record (REST's shape) as apigatewayv2 shows it: one configuration for its endpoint."""
    endpoint = record["endpointConfiguration"]
    regional = endpoint["types"][0] == "REGIONAL"
    config = {"endpointType": endpoint["types"][0], "domainNameStatus": record["domainNameStatus"],
              "securityPolicy": record["securityPolicy"], "ipAddressType": endpoint.get("ipAddressType", "ipv4"),
              "apiGatewayDomainName": record.get("regionalDomainName" if regional else "distributionDomainName"),
              "hostedZoneId": record.get("regionalHostedZoneId" if regional else "distributionHostedZoneId"),
              "certificateArn": record.get("regionalCertificateArn" if regional else "certificateArn"),
              "certificateName": record.get("regionalCertificateName" if regional else "certificateName"),
              "certificateUploadDate": record.get("certificateUploadDate")}
    shown = {"apiMappingSelectionExpression": "$request.basepath", "domainName": record["domainName"],
             "domainNameArn": record.get("domainNameArn"),
             "domainNameConfigurations": [{k: v for k, v in config.items() if v is not None}],
             "routingMode": _V2_ROUTING_MODES.get(record.get("routingMode", ""), "API_MAPPING_ONLY"),
             "tags": record.get("tags") or {}}
    if record.get("mutualTlsAuthentication"):
        shown["mutualTlsAuthentication"] = record["mutualTlsAuthentication"]
    return {k: v for k, v in shown.items() if v is not None}


def _configure(domain: dict[str, Any], configurations: list[dict[str, Any]], region: str) -> None:
    """apigatewayv2's `domainNameConfigurations` onto a domain record (one REGIONAL configuration)."""
    if len(configurations) > 1:
        raise bad_request("Only one domain name configuration is supported.")
    config = configurations[0] if configurations else {}
    endpoint_type = enum(config.get("endpointType") or "REGIONAL", ENDPOINT_TYPES, "endpointType")
    if endpoint_type != "REGIONAL":
        raise bad_request("Only REGIONAL endpoint type is supported for domain names of API Gateway V2.")
    domain["endpointConfiguration"] = {"types": ["REGIONAL"], "ipAddressType": enum(
        config.get("ipAddressType") or domain.get("endpointConfiguration", {}).get("ipAddressType") or "ipv4",
        IP_ADDRESS_TYPES, "ipAddressType")}
    if config.get("securityPolicy") is not None or "securityPolicy" not in domain:
        domain["securityPolicy"] = enum(config.get("securityPolicy") or "TLS_1_2", SECURITY_POLICIES,
                                        "securityPolicy")
    for key, field in (("certificateArn", "regionalCertificateArn"), ("certificateName", "regionalCertificateName"),
                       ("ownershipVerificationCertificateArn", "ownershipVerificationCertificateArn")):
        if config.get(key):
            domain[field] = config[key]
    if config.get("certificateArn"):
        domain["certificateUploadDate"] = now()
    domain["regionalDomainName"] = f"d-{domain['_dnsId'][:10]}.execute-api.{region}.amazonaws.com"
    domain["regionalHostedZoneId"] = REGIONAL_ZONE
    for field in ("distributionDomainName", "distributionHostedZoneId"):
        domain.pop(field, None)


def _routing_mode(value: Any) -> str:
    return ROUTING_MODES[enum(value, tuple(ROUTING_MODES), "routingMode")]


def _mutual_tls(value: dict[str, Any]) -> dict[str, Any]:
    if not value.get("truststoreUri"):
        raise bad_request("Invalid mutual TLS authentication: a truststoreUri is required")
    return {k: value[k] for k in ("truststoreUri", "truststoreVersion") if value.get(k)}


@operation("CreateDomainName", service=V2)
def create_domain_name(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    name = p["DomainName"]
    if cp.store.get_record(DOMAIN_NAME, name) is not None:
        raise conflict("The domain name you provided already exists.")
    domain: dict[str, Any] = {"domainName": name, "domainNameArn": cp.arn(f"/domainnames/{name}"),
                              "domainNameStatus": "AVAILABLE", "tags": dict(p.get("Tags") or {}),
                              "routingMode": _routing_mode(p.get("RoutingMode") or "API_MAPPING_ONLY"),
                              "_dnsId": ids.new_id(13)}
    _configure(domain, p.get("DomainNameConfigurations") or [], cp.region)
    if p.get("MutualTlsAuthentication"):
        domain["mutualTlsAuthentication"] = _mutual_tls(p["MutualTlsAuthentication"])
    cp.store.put_record(DOMAIN_NAME, name, domain)
    return members(domain_view(domain))


@operation("GetDomainNames", service=V2)
def get_domain_names(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domains = sorted(cp.store.list_records(DOMAIN_NAME), key=lambda d: d["domainName"])
    return page([domain_view(d) for d in domains], p)


@operation("GetDomainName", service=V2)
def get_domain_name(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return members(domain_view(domain_name(cp, p["DomainName"])))


@operation("UpdateDomainName", service=V2)
def update_domain_name(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["DomainName"])
    if p.get("DomainNameConfigurations") is not None:
        _configure(domain, p["DomainNameConfigurations"], cp.region)
    if p.get("RoutingMode") is not None:
        domain["routingMode"] = _routing_mode(p["RoutingMode"])
    if p.get("MutualTlsAuthentication") is not None:
        domain["mutualTlsAuthentication"] = _mutual_tls(p["MutualTlsAuthentication"])
    cp.store.put_record(DOMAIN_NAME, domain["domainName"], domain)
    return members(domain_view(domain))


@operation("DeleteDomainName", service=V2)
def delete_domain(cp: ControlPlane, p: dict[str, Any]) -> None:
    delete_domain_name(cp, {"domainName": p["DomainName"]})  # with its mappings, as REST's call does


# -- API mappings --------------------------------------------------------------------------------------

def mapping_id(mapping: dict[str, Any]) -> str:
    """A mapping's id: the one given when apigatewayv2 made it, else (a base path mapping made through
    REST's calls) one derived from where it sits."""
    if mapping.get("_apiMappingId"):
        return str(mapping["_apiMappingId"])
    digest = hashlib.sha256(f"{mapping['_domainName']}/{mapping['basePath']}".encode()).digest()
    return "".join("abcdefghijklmnopqrstuvwxyz0123456789"[b % 36] for b in digest[:10])


def mapping_view(mapping: dict[str, Any]) -> dict[str, Any]:
    shown = {"apiId": mapping["restApiId"], "apiMappingId": mapping_id(mapping),
             "apiMappingKey": "" if mapping["basePath"] == NO_BASE_PATH else mapping["basePath"]}
    if mapping.get("stage"):
        shown["stage"] = mapping["stage"]
    return shown


def _mappings(cp: ControlPlane, domain: str) -> list[dict[str, Any]]:
    return sorted((m for m in cp.store.list_records(BASE_PATH_MAPPING) if m["_domainName"] == domain),
                  key=lambda m: m["basePath"])


def _mapping(cp: ControlPlane, domain: str, api_mapping_id: str) -> dict[str, Any]:
    found = next((m for m in _mappings(cp, domain) if mapping_id(m) == api_mapping_id), None)
    if found is None:
        raise not_found(f"{NO_MAPPING_ID} {api_mapping_id}")
    return found


def _check_target(cp: ControlPlane, api_id: str, stage: str) -> None:
    """The API (of any kind) and its stage a mapping routes to."""
    kind = cp.store.list_api_kinds().get(api_id)
    if kind is None:
        raise bad_request(f"Invalid API identifier specified {cp.account_id}:{api_id}")
    exists = (cp.store.get_stage(api_id, stage) if kind == "REST" else v2store.get_stage(cp.store, api_id, stage))
    if exists is None:
        raise bad_request("Invalid stage identifier specified")  # recorded from AWS


def _base_path(key: str | None) -> str:
    if not key:
        return NO_BASE_PATH
    if not _MAPPING_KEY.match(key):
        raise bad_request(f"Invalid API mapping key specified: {key}. A key is one or more path segments "
                          "separated by '/', without a leading or trailing '/'.")
    return key


def _save(cp: ControlPlane, mapping: dict[str, Any], previous: str | None = None) -> dict[str, Any]:
    domain = mapping["_domainName"]
    key = f"{domain}/{mapping['basePath']}"
    if previous != mapping["basePath"] and cp.store.get_record(BASE_PATH_MAPPING, key) is not None:
        raise conflict("Base path already exists for this domain name")
    with cp.store.transaction():
        if previous is not None and previous != mapping["basePath"]:
            cp.store.delete_record(BASE_PATH_MAPPING, f"{domain}/{previous}")
        cp.store.put_record(BASE_PATH_MAPPING, key, mapping)
    return members(mapping_view(mapping))


@operation("CreateApiMapping", service=V2)
def create_api_mapping(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["DomainName"])["domainName"]
    _check_target(cp, p["ApiId"], p["Stage"])
    mapping = {"basePath": _base_path(p.get("ApiMappingKey")), "restApiId": p["ApiId"], "stage": p["Stage"],
               "_domainName": domain, "_apiMappingId": ids.new_id(10)}
    return _save(cp, mapping)


@operation("GetApiMappings", service=V2)
def get_api_mappings(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["DomainName"])["domainName"]
    return page([mapping_view(m) for m in _mappings(cp, domain)], p)


@operation("GetApiMapping", service=V2)
def get_api_mapping(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["DomainName"])["domainName"]
    return members(mapping_view(_mapping(cp, domain, p["ApiMappingId"])))


@operation("UpdateApiMapping", service=V2)
def update_api_mapping(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    domain = domain_name(cp, p["DomainName"])["domainName"]
    mapping = _mapping(cp, domain, p["ApiMappingId"])
    previous = mapping["basePath"]
    mapping["_apiMappingId"] = mapping_id(mapping)  # a derived id stays the mapping's when its key changes
    mapping["restApiId"] = p["ApiId"]
    if p.get("Stage") is not None:
        mapping["stage"] = p["Stage"]
    if p.get("ApiMappingKey") is not None:
        mapping["basePath"] = _base_path(p["ApiMappingKey"])
    _check_target(cp, mapping["restApiId"], mapping.get("stage") or "")
    return _save(cp, mapping, previous)


@operation("DeleteApiMapping", service=V2)
def delete_api_mapping(cp: ControlPlane, p: dict[str, Any]) -> None:
    domain = domain_name(cp, p["DomainName"])["domainName"]
    mapping = _mapping(cp, domain, p["ApiMappingId"])
    cp.store.delete_record(BASE_PATH_MAPPING, f"{domain}/{mapping['basePath']}")
