"""REST API (v1) resources as plain records.

Records are dicts shaped exactly like the AWS control-plane wire format (camelCase field names,
`resourceMethods` → `methodIntegration` → `integrationResponses`, …). Keeping AWS's own shape means
a deployment snapshot, the control plane and OpenAPI export all speak one format with no mapping
layer to drift.
"""

from __future__ import annotations

import re
import time
from typing import Any, NotRequired, TypedDict

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
METHOD_VERBS = (*HTTP_METHODS, "ANY")
INTEGRATION_TYPES = ("MOCK", "HTTP", "HTTP_PROXY", "AWS", "AWS_PROXY")
PASSTHROUGH_BEHAVIORS = ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER")
CONTENT_HANDLINGS = ("CONVERT_TO_BINARY", "CONVERT_TO_TEXT")
DEFAULT_TIMEOUT_MS = 29000

PATH_PART_RE = re.compile(r"^(?:[A-Za-z0-9_\-.,:]+|\{[A-Za-z0-9_\-.]+\+?\})$")
STAGE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
STAGE_VAR_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
STAGE_VAR_VALUE_RE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]{1,512}$")
STATUS_CODE_RE = re.compile(r"^[1-5]\d\d$")


class IntegrationResponse(TypedDict):
    statusCode: str
    selectionPattern: NotRequired[str]
    responseParameters: NotRequired[dict[str, str]]
    responseTemplates: NotRequired[dict[str, str | None]]
    contentHandling: NotRequired[str]


class Integration(TypedDict):
    type: str
    httpMethod: NotRequired[str]
    uri: NotRequired[str]
    connectionType: NotRequired[str]
    connectionId: NotRequired[str]
    credentials: NotRequired[str]
    requestParameters: NotRequired[dict[str, str]]
    requestTemplates: NotRequired[dict[str, str | None]]
    passthroughBehavior: NotRequired[str]
    contentHandling: NotRequired[str]
    timeoutInMillis: NotRequired[int]
    cacheNamespace: NotRequired[str]
    cacheKeyParameters: NotRequired[list[str]]
    integrationResponses: NotRequired[dict[str, IntegrationResponse]]
    tlsConfig: NotRequired[dict[str, bool]]


class MethodResponse(TypedDict):
    statusCode: str
    responseParameters: NotRequired[dict[str, bool]]
    responseModels: NotRequired[dict[str, str]]


class Method(TypedDict):
    httpMethod: str
    authorizationType: str
    apiKeyRequired: bool
    authorizerId: NotRequired[str]
    operationName: NotRequired[str]
    requestParameters: NotRequired[dict[str, bool]]
    requestModels: NotRequired[dict[str, str]]
    requestValidatorId: NotRequired[str]
    authorizationScopes: NotRequired[list[str]]
    methodResponses: NotRequired[dict[str, MethodResponse]]
    methodIntegration: NotRequired[Integration]


class Resource(TypedDict):
    id: str
    path: str
    parentId: NotRequired[str]
    pathPart: NotRequired[str]
    resourceMethods: NotRequired[dict[str, Method]]


class GatewayResponse(TypedDict):
    responseType: str
    statusCode: NotRequired[str]
    responseParameters: NotRequired[dict[str, str]]
    responseTemplates: NotRequired[dict[str, str]]
    defaultResponse: bool


class RestApi(TypedDict):
    id: str
    name: str
    createdDate: int
    apiKeySource: str
    endpointConfiguration: dict[str, Any]
    disableExecuteApiEndpoint: bool
    rootResourceId: str
    description: NotRequired[str]
    version: NotRequired[str]
    binaryMediaTypes: NotRequired[list[str]]
    minimumCompressionSize: NotRequired[int]
    policy: NotRequired[str]
    tags: NotRequired[dict[str, str]]
    warnings: NotRequired[list[str]]


class ApiDefinition(TypedDict):
    """Everything one REST API consists of; a deployment snapshots exactly this."""

    restApi: RestApi
    resources: dict[str, Resource]  # by resource id
    gatewayResponses: dict[str, GatewayResponse]  # customised ones only, by responseType
    models: dict[str, dict[str, Any]]
    requestValidators: dict[str, dict[str, Any]]
    authorizers: dict[str, dict[str, Any]]
    documentationParts: NotRequired[dict[str, dict[str, Any]]]  # by part id
    documentationVersions: NotRequired[dict[str, dict[str, Any]]]  # by version name


class Deployment(TypedDict):
    id: str
    restApiId: str
    createdDate: int
    description: NotRequired[str]
    apiSummary: dict[str, dict[str, dict[str, Any]]]


class Stage(TypedDict):
    stageName: str
    restApiId: str
    deploymentId: str
    createdDate: int
    lastUpdatedDate: int
    description: NotRequired[str]
    variables: NotRequired[dict[str, str]]
    methodSettings: dict[str, dict[str, Any]]
    cacheClusterEnabled: bool
    tracingEnabled: bool
    cacheClusterSize: NotRequired[str]
    canarySettings: NotRequired[dict[str, Any]]
    accessLogSettings: NotRequired[dict[str, str]]
    documentationVersion: NotRequired[str]
    clientCertificateId: NotRequired[str]
    webAclArn: NotRequired[str]
    tags: NotRequired[dict[str, str]]


def now() -> int:
    return int(time.time())


def api_summary(definition: ApiDefinition) -> dict[str, dict[str, dict[str, Any]]]:
    """The Deployment.apiSummary map: path → verb → {authorizationType, apiKeyRequired}."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in definition["resources"].values():
        methods = resource.get("resourceMethods")
        if methods:
            summary[resource["path"]] = {
                verb: {"authorizationType": m["authorizationType"], "apiKeyRequired": m["apiKeyRequired"]}
                for verb, m in methods.items()
            }
    return summary


def has_methods(definition: ApiDefinition) -> bool:
    return any(r.get("resourceMethods") for r in definition["resources"].values())
