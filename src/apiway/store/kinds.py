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
# apigatewayv2 (HTTP and WebSocket APIs), stored beside REST APIs (model/http.py): an API with all its
# parts keyed "apiId" (its `api.protocolType` says which kind), its deployments keyed "apiId/deploymentId"
# and its stages keyed "apiId/stageName".
V2_API = "v2api"
V2_DEPLOYMENT = "v2deployment"
V2_STAGE = "v2stage"

# The fields of a kind's records the store can find records by (`find_records`), kept in a table of their own
# in the same transaction as the record: a duplicate API key value, the plans of one key, the keys of one plan,
# each found without reading every record of the kind.
FOUND_BY: dict[str, tuple[str, ...]] = {API_KEY: ("value",), USAGE_PLAN_KEY: ("keyId", "usagePlanId")}
