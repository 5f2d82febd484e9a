"""Kinds of account-level records in the store (`get_record(kind, id)`): the control plane writes
them, the gateway's access state and domain table read them. The kind is also the kind of the change
event a write of such a record announces (store/changes.py)."""

API_KEY = "apikey"
USAGE_PLAN = "usageplan"
USAGE_PLAN_KEY = "usageplankey"
DOMAIN_NAME = "domainname"
BASE_PATH_MAPPING = "basepathmapping"
VPC_LINK = "vpclink"
CLIENT_CERTIFICATE = "clientcertificate"
# apigatewayv2 (HTTP and WebSocket APIs), stored beside REST APIs: an API keyed "apiId" (its
# `protocolType` says which kind), and its parts keyed "apiId/partId" (a stage: "apiId/stageName").
V2_API = "v2api"
V2_ROUTE = "v2route"
V2_INTEGRATION = "v2integration"
V2_STAGE = "v2stage"
