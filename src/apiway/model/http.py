"""HTTP APIs (API Gateway v2, `protocolType: HTTP`) as plain records, shaped exactly like the
`apigatewayv2` control plane's wire format (botocore's `apigatewayv2` model: camelCase member names,
`routeKey`, `target`, `integrationUri`, `payloadFormatVersion`, …), as model/rest.py does for REST.

How they are stored (store/kinds.py), every record through the store's `put_record`:

    V2_API          "apiId"                 HttpApiDefinition: the API with all its parts, saved whole
    V2_DEPLOYMENT   "apiId/deploymentId"    {"deployment": Deployment, "snapshot": HttpApiDefinition}
    V2_STAGE        "apiId/stageName"       Stage (with "apiId"; `$default` is a stage name like any)

A deployment is the definition's snapshot when it was made, as for REST; a stage serves its
deployment's snapshot with the stage's own settings. API ids are one space for every kind.
"""

from __future__ import annotations

import re
from typing import Any, NotRequired, TypedDict

from apiway.model.aws import REGION

PROTOCOL_HTTP = "HTTP"
PROTOCOL_WEBSOCKET = "WEBSOCKET"
# What AWS answers for every HTTP API (the documented `${request.method} ${request.path}` is accepted as input).
HTTP_ROUTE_SELECTION = "$request.method $request.path"
API_KEY_SELECTION = "$request.header.x-api-key"
CREDENTIALS_WITH_ORIGIN_STAR = "allow-credentials is not supported if 'allow-origin' is *"  # AWS's words
DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"
ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
HTTP_INTEGRATION_TYPES = ("AWS_PROXY", "HTTP_PROXY")
PAYLOAD_FORMATS = ("1.0", "2.0")
DEFAULT_TIMEOUT_MS = 30000
MIN_TIMEOUT_MS = 50
MAX_ROUTES = 300
MAX_STAGES = 10
STAGE_NAME_RE = re.compile(r"^(\$default|[A-Za-z0-9_\-]{1,128})$")


class Cors(TypedDict, total=False):
    allowCredentials: bool
    allowHeaders: list[str]
    allowMethods: list[str]
    allowOrigins: list[str]
    exposeHeaders: list[str]
    maxAge: int


class Api(TypedDict):
    apiId: str
    name: str
    protocolType: str  # "HTTP" (WebSocket APIs share the record shape)
    routeSelectionExpression: str
    apiEndpoint: str
    createdDate: str  # ISO-8601, as the v2 wire format gives dates
    apiKeySelectionExpression: NotRequired[str]
    corsConfiguration: NotRequired[Cors]
    description: NotRequired[str]
    disableExecuteApiEndpoint: NotRequired[bool]
    disableSchemaValidation: NotRequired[bool]
    ipAddressType: NotRequired[str]
    tags: NotRequired[dict[str, str]]
    version: NotRequired[str]
    importInfo: NotRequired[list[str]]
    warnings: NotRequired[list[str]]
    apiGatewayManaged: NotRequired[bool]


class Route(TypedDict):
    routeId: str
    routeKey: str  # "GET /pets/{id}", "ANY /{proxy+}", "$default"
    authorizationType: str  # NONE | JWT | AWS_IAM | CUSTOM
    target: NotRequired[str]  # "integrations/{integrationId}"
    authorizerId: NotRequired[str]
    authorizationScopes: NotRequired[list[str]]
    operationName: NotRequired[str]
    apiKeyRequired: NotRequired[bool]
    requestParameters: NotRequired[dict[str, dict[str, bool]]]
    requestModels: NotRequired[dict[str, str]]
    modelSelectionExpression: NotRequired[str]
    routeResponseSelectionExpression: NotRequired[str]
    apiGatewayManaged: NotRequired[bool]


class Integration(TypedDict):
    integrationId: str
    integrationType: str  # AWS_PROXY | HTTP_PROXY (WebSocket: also AWS, HTTP, MOCK)
    payloadFormatVersion: str  # "1.0" | "2.0"
    timeoutInMillis: int
    integrationUri: NotRequired[str]
    integrationMethod: NotRequired[str]
    integrationSubtype: NotRequired[str]
    connectionType: NotRequired[str]  # INTERNET | VPC_LINK
    connectionId: NotRequired[str]
    credentialsArn: NotRequired[str]
    description: NotRequired[str]
    requestParameters: NotRequired[dict[str, str]]
    responseParameters: NotRequired[dict[str, dict[str, str]]]  # status code → mapping
    requestTemplates: NotRequired[dict[str, str]]
    templateSelectionExpression: NotRequired[str]
    passthroughBehavior: NotRequired[str]
    contentHandlingStrategy: NotRequired[str]
    integrationResponseSelectionExpression: NotRequired[str]
    tlsConfig: NotRequired[dict[str, str]]
    apiGatewayManaged: NotRequired[bool]


class JwtConfiguration(TypedDict, total=False):
    audience: list[str]
    issuer: str


class Authorizer(TypedDict):
    authorizerId: str
    name: str
    authorizerType: str  # JWT | REQUEST
    identitySource: list[str]  # "$request.header.Authorization", "$request.querystring.token", …
    jwtConfiguration: NotRequired[JwtConfiguration]
    authorizerUri: NotRequired[str]
    authorizerCredentialsArn: NotRequired[str]
    authorizerPayloadFormatVersion: NotRequired[str]  # "1.0" | "2.0" (REQUEST)
    authorizerResultTtlInSeconds: NotRequired[int]
    enableSimpleResponses: NotRequired[bool]
    identityValidationExpression: NotRequired[str]


class HttpApiDefinition(TypedDict):
    api: Api
    routes: dict[str, Route]  # by routeId
    integrations: dict[str, Integration]  # by integrationId
    authorizers: dict[str, Authorizer]  # by authorizerId
    # WebSocket APIs only: integrationId → integrationResponseId → record; routeId → routeResponseId → record;
    # modelId → record.
    integrationResponses: NotRequired[dict[str, dict[str, dict[str, Any]]]]
    routeResponses: NotRequired[dict[str, dict[str, dict[str, Any]]]]
    models: NotRequired[dict[str, dict[str, Any]]]


class RouteSettings(TypedDict, total=False):
    throttlingBurstLimit: int
    throttlingRateLimit: float
    detailedMetricsEnabled: bool
    loggingLevel: str  # WebSocket only
    dataTraceEnabled: bool  # WebSocket only


class Stage(TypedDict):
    apiId: str
    stageName: str
    createdDate: str
    lastUpdatedDate: str
    autoDeploy: bool
    deploymentId: NotRequired[str]  # none yet: the stage serves nothing (404)
    description: NotRequired[str]
    defaultRouteSettings: NotRequired[RouteSettings]
    routeSettings: NotRequired[dict[str, RouteSettings]]  # by route key
    stageVariables: NotRequired[dict[str, str]]
    accessLogSettings: NotRequired[dict[str, str]]
    clientCertificateId: NotRequired[str]
    lastDeploymentStatusMessage: NotRequired[str]
    tags: NotRequired[dict[str, str]]
    apiGatewayManaged: NotRequired[bool]


class Deployment(TypedDict):
    deploymentId: str
    createdDate: str
    deploymentStatus: str  # DEPLOYED (deploys here are synchronous)
    autoDeployed: bool
    description: NotRequired[str]
    deploymentStatusMessage: NotRequired[str]


def api_endpoint(api_id: str, protocol: str = PROTOCOL_HTTP) -> str:
    """The `apiEndpoint` AWS gives an API (the gateway serves it under its own host)."""
    scheme = "wss" if protocol == PROTOCOL_WEBSOCKET else "https"
    return f"{scheme}://{api_id}.execute-api.{REGION}.amazonaws.com"


def integration_id_of(route: Route) -> str | None:
    """The integration a route targets (`integrations/{id}`), None for a route without one."""
    target = route.get("target") or ""
    return target.removeprefix("integrations/") if target.startswith("integrations/") else None
