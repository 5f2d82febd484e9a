"""Where AWS service integrations send their requests, and how each service speaks (botocore's service
models: protocol, JSON target prefix, signing name). Endpoints come from the standard variables boto3 reads,
`AWS_ENDPOINT_URL_<SERVICE_ID>` then `AWS_ENDPOINT_URL`, then the project's `aws: {endpoint}` setting; a
service with none cannot be called (start-up lists such methods)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.loaders import Loader

from apiway.integrations.aws_signer import Signer

# ARN service names (endpoint prefixes) whose botocore model is named otherwise.
_MODEL_NAMES = {"states": "stepfunctions", "monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    prefix: str  # the service as an integration ARN names it
    service_id: str  # botocore's serviceId: AWS_ENDPOINT_URL_<ID, upper case, spaces as _>
    signing_name: str
    protocol: str  # "query", "json", "rest-json" or "rest-xml"
    target_prefix: str | None  # JSON services: X-Amz-Target is `{prefix}.{Action}`
    json_version: str

    @property
    def env_name(self) -> str:
        return "AWS_ENDPOINT_URL_" + self.service_id.upper().replace(" ", "_").replace("-", "_")


@lru_cache(maxsize=64)
def service_info(prefix: str) -> ServiceInfo | None:
    """The service an integration ARN names, from botocore's model; None for one botocore does not know."""
    name = _MODEL_NAMES.get(prefix, prefix)
    try:
        meta = Loader().load_service_model(name, "service-2")["metadata"]
    except (DataNotFoundError, UnknownServiceError):
        return None
    protocol = meta.get("protocol", "json")
    # SQS speaks JSON to botocore but still answers the query protocol that API Gateway's form templates send.
    if "awsQueryCompatible" in meta:
        protocol = "query"
    return ServiceInfo(prefix, meta.get("serviceId", prefix), meta.get("signingName") or meta["endpointPrefix"],
                       protocol, meta.get("targetPrefix"), meta.get("jsonVersion", "1.0"))


@dataclass(slots=True)
class AwsServices:
    """How integrations reach AWS services: the project's `aws:` setting beside the environment, and the
    signer (one credential chain for the process)."""

    endpoint: str | None = None
    region: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    signer: Signer = field(default_factory=Signer)

    def url(self, info: ServiceInfo) -> str | None:
        found = self.environ.get(info.env_name) or self.environ.get("AWS_ENDPOINT_URL") or self.endpoint
        return found.rstrip("/") if found else None

    def region_for(self, arn_region: str) -> str:
        """The integration ARN's region, else the configured or the environment's, else us-east-1."""
        return (arn_region or self.region or self.environ.get("AWS_REGION") or self.environ.get("AWS_DEFAULT_REGION")
                or DEFAULT_REGION)
