"""Kinds of account-level records in the store (`get_record(kind, id)`): the control plane writes
them, the gateway's access state and domain table read them."""

API_KEY = "apikey"
USAGE_PLAN = "usageplan"
USAGE_PLAN_KEY = "usageplankey"
DOMAIN_NAME = "domainname"
BASE_PATH_MAPPING = "basepathmapping"
VPC_LINK = "vpclink"
CLIENT_CERTIFICATE = "clientcertificate"
