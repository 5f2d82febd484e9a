"""AWS service integrations at deploy time: which endpoint a service's requests go to (the variables boto3
reads, then the project's setting), how botocore's models describe the services, and the integration subtypes'
parameters refused as AWS refuses them."""

from __future__ import annotations

import pytest

from apiway.core.errors import DeployError
from apiway.integrations.aws_service import UnreachableService
from apiway.integrations.aws_services import AwsServices, service_info
from apiway.integrations.aws_subtypes import SubtypeIntegration, compile_subtype
from apiway.integrations.upstream import UpstreamPool


def test_endpoint_precedence_follows_boto3() -> None:
    sfn = service_info("states")
    assert sfn is not None and sfn.env_name == "AWS_ENDPOINT_URL_SFN" and sfn.signing_name == "states"
    env = {"AWS_ENDPOINT_URL_SFN": "http://sfn:1/", "AWS_ENDPOINT_URL": "http://all:2"}
    configured = AwsServices(endpoint="http://project:3", environ=env)
    assert configured.url(sfn) == "http://sfn:1"
    dynamodb = service_info("dynamodb")
    assert dynamodb is not None and configured.url(dynamodb) == "http://all:2"
    assert AwsServices(endpoint="http://project:3", environ={}).url(dynamodb) == "http://project:3"
    assert AwsServices(environ={}).url(dynamodb) is None


def test_region_is_the_arns_then_the_settings_then_the_environments() -> None:
    assert AwsServices(region="eu-west-1", environ={"AWS_REGION": "ap-south-1"}).region_for("us-west-2") == "us-west-2"
    assert AwsServices(region="eu-west-1", environ={"AWS_REGION": "ap-south-1"}).region_for("") == "eu-west-1"
    assert AwsServices(environ={"AWS_DEFAULT_REGION": "ap-south-1"}).region_for("") == "ap-south-1"
    assert AwsServices(environ={}).region_for("") == "us-east-1"


def test_service_protocols_come_from_botocores_models() -> None:
    sqs, sns, events, s3 = (service_info(name) for name in ("sqs", "sns", "events", "s3"))
    assert sqs is not None and sqs.protocol == "query"  # AWS still answers API Gateway's form requests
    assert sns is not None and sns.protocol == "query"
    assert events is not None and (events.protocol, events.target_prefix, events.json_version) == (
        "json", "AWSEvents", "1.1")
    assert s3 is not None and s3.protocol == "rest-xml"
    assert service_info("no-such-service") is None


def _compile(record: dict, services: AwsServices) -> object:
    return compile_subtype(record, 29000, UpstreamPool(), services, lambda text, _where: lambda _inv, _r: text,
                           "/enqueue POST")


@pytest.mark.parametrize(("record", "message"), [
    ({"integrationSubtype": "SQS-Nope"}, "unsupported integration subtype 'SQS-Nope'"),
    ({"integrationSubtype": "SQS-SendMessage", "requestParameters": {"QueueUrl": "q"}},
     "SQS-SendMessage requires parameter 'MessageBody'"),
    ({"integrationSubtype": "SQS-PurgeQueue", "requestParameters": {"QueueUrl": "q", "MessageBody": "m"}},
     "'MessageBody' is not a parameter of SQS-PurgeQueue"),
    ({"integrationSubtype": "SQS-PurgeQueue", "requestParameters": {"QueueUrl": 7}},
     "a map of the action's parameters to mapping values"),
])
def test_subtype_parameters_are_checked_at_deploy_time(record: dict, message: str) -> None:
    with pytest.raises(DeployError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _compile(record, AwsServices(environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}))


def test_a_subtype_without_an_endpoint_is_unreachable() -> None:
    record = {"integrationSubtype": "EventBridge-PutEvents",
              "requestParameters": {"Detail": "{}", "DetailType": "t", "Source": "s", "Region": "eu-west-1"}}
    unreachable = _compile(record, AwsServices(environ={}))
    assert isinstance(unreachable, UnreachableService)
    assert "AWS_ENDPOINT_URL_EVENTBRIDGE" in unreachable.reason
    assert isinstance(_compile(record, AwsServices(environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})),
                      SubtypeIntegration)
