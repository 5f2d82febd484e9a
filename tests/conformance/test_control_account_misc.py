"""Domain names and base path mappings, tags, the account, VPC links and client certificates through
real boto3 against a running apiway, compared with the responses and errors recorded from AWS."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from botocore.exceptions import ClientError
from cryptography import x509

from tests.conformance.control_plane import assert_like_recorded, assert_recorded_error, recorded_content
from tests.conformance.test_control_account_keys import stage

NLB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/my-nlb/1234567890abcdef"


def error(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call()
    got = info.value.response
    return got["Error"]["Code"], got["Error"]["Message"], got["ResponseMetadata"]["HTTPStatusCode"]


# -- VPC links ------------------------------------------------------------------------------------------

def test_vpc_link_lifecycle_as_aws(apigw):
    recorded = recorded_content("test_vpc_link_lifecycle")
    created = apigw.create_vpc_link(name="vpc-link", targetArns=[NLB])
    # apiway has no VPC to wait for: a link is AVAILABLE at once, where AWS first answers PENDING
    assert_like_recorded(created, {**recorded["create_vpc_link"], "status": "AVAILABLE",
                                   "statusMessage": "Your vpc link is ready for use"})
    link_id = created["id"]
    assert_like_recorded(apigw.get_vpc_link(vpcLinkId=link_id), recorded["get_vpc_link"])
    assert_like_recorded(apigw.get_vpc_links(), recorded["get_vpc_links"])
    updated = apigw.update_vpc_link(vpcLinkId=link_id, patchOperations=[
        {"op": "replace", "path": "/name", "value": "vpc-link-updated"}])
    assert_like_recorded(updated, recorded["update_vpc_link"])
    assert updated["name"] == "vpc-link-updated"
    assert_like_recorded(apigw.delete_vpc_link(vpcLinkId=link_id), recorded["delete_vpc_link"])
    assert apigw.get_vpc_links()["items"] == []


def test_vpc_link_errors_as_aws(apigw):
    test = "test_create_vpc_link_invalid_parameters"
    assert_recorded_error(lambda: apigw.create_vpc_link(name="link", targetArns=["invalid-arn"]), test,
                          "create_vpc_link_invalid_target_arn")
    assert_recorded_error(lambda: apigw.create_vpc_link(name="", targetArns=[NLB]), test, "create_vpc_link_empty_name")
    assert_recorded_error(lambda: apigw.get_vpc_link(vpcLinkId="invalid-id"), "test_get_vpc_link_invalid_id",
                          "get_vpc_link_invalid_id")
    assert_recorded_error(lambda: apigw.delete_vpc_link(vpcLinkId="invalid-id"), "test_delete_vpc_link_invalid_id",
                          "delete_vpc_link_invalid_id")
    assert_recorded_error(lambda: apigw.update_vpc_link(vpcLinkId="invalid-id", patchOperations=[
        {"op": "replace", "path": "/name", "value": "x"}]), "test_update_vpc_link_invalid_id",
        "update_vpc_link_invalid_id")


# -- domain names and base path mappings ------------------------------------------------------------

def test_domain_name_lifecycle(apigw):
    edge = apigw.create_domain_name(domainName="api.example.com", certificateName="cert",
                                    certificateArn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
                                    tags={"env": "test"})
    assert edge["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert re.fullmatch(r"d[a-z0-9]{13}\.cloudfront\.net", edge["distributionDomainName"])
    assert (edge["distributionHostedZoneId"], edge["domainNameStatus"], edge["endpointConfiguration"]["types"],
            edge["certificateName"], edge["tags"]) == ("Z2FDTNDATAQYW2", "AVAILABLE", ["EDGE"], "cert", {"env": "test"})
    regional = apigw.create_domain_name(domainName="regional.example.com",
                                        regionalCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/r",
                                        endpointConfiguration={"types": ["REGIONAL"]})
    assert re.fullmatch(r"d-[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com", regional["regionalDomainName"])
    assert "distributionDomainName" not in regional and "tags" not in regional
    assert error(lambda: apigw.create_domain_name(domainName="api.example.com"))[0] == "ConflictException"
    assert error(lambda: apigw.create_domain_name(domainName="")) == (
        "BadRequestException", "No Domain Name specified", 400)
    names = [d["domainName"] for d in apigw.get_domain_names()["items"]]
    assert names == ["api.example.com", "regional.example.com"]
    got = apigw.get_domain_name(domainName="regional.example.com")
    assert got["regionalDomainName"] == regional["regionalDomainName"] and got["tags"] == {}
    updated = apigw.update_domain_name(domainName="regional.example.com", patchOperations=[
        {"op": "replace", "path": "/securityPolicy", "value": "TLS_1_0"},
        {"op": "replace", "path": "/endpointConfiguration/types/REGIONAL", "value": "EDGE"}])
    assert updated["securityPolicy"] == "TLS_1_0" and "regionalDomainName" not in updated
    assert updated["distributionDomainName"].endswith(".cloudfront.net")
    assert error(lambda: apigw.update_domain_name(domainName="regional.example.com", patchOperations=[
        {"op": "replace", "path": "/domainName", "value": "x"}]))[0] == "BadRequestException"
    apigw.delete_domain_name(domainName="regional.example.com")
    assert error(lambda: apigw.get_domain_name(domainName="regional.example.com")) == (
        "NotFoundException", "Invalid domain name identifier specified", 404)


def test_base_path_mappings(apigw):
    api_id = stage(apigw)
    apigw.create_domain_name(domainName="mapped.example.com", endpointConfiguration={"types": ["REGIONAL"]})
    root = apigw.create_base_path_mapping(domainName="mapped.example.com", restApiId=api_id)
    assert (root["basePath"], root["restApiId"], "stage" in root) == ("(none)", api_id, False)
    v1 = apigw.create_base_path_mapping(domainName="mapped.example.com", restApiId=api_id, basePath="v1", stage="dev")
    assert (v1["basePath"], v1["stage"]) == ("v1", "dev")
    for kwargs, expected in (
        ({"restApiId": api_id}, ("ConflictException", "Base path already exists for this domain name", 409)),
        ({"restApiId": "nope", "basePath": "x"}, ("BadRequestException", "Invalid REST API identifier specified", 400)),
        ({"restApiId": api_id, "basePath": "x", "stage": "nope"},
         ("BadRequestException", "Invalid stage identifier specified", 400)),
    ):
        assert error(lambda kwargs=kwargs: apigw.create_base_path_mapping(domainName="mapped.example.com",
                                                                          **kwargs)) == expected
    assert error(lambda: apigw.create_base_path_mapping(domainName="missing.example.com", restApiId=api_id))[0] == (
        "NotFoundException")
    listed = apigw.get_base_path_mappings(domainName="mapped.example.com")["items"]
    assert [m["basePath"] for m in listed] == ["(none)", "v1"]
    assert apigw.get_base_path_mapping(domainName="mapped.example.com", basePath="(none)")["restApiId"] == api_id
    moved = apigw.update_base_path_mapping(domainName="mapped.example.com", basePath="v1", patchOperations=[
        {"op": "replace", "path": "/basePath", "value": "v2"}, {"op": "replace", "path": "/stage", "value": ""}])
    assert (moved["basePath"], "stage" in moved) == ("v2", False)
    assert error(lambda: apigw.get_base_path_mapping(domainName="mapped.example.com", basePath="v1")) == (
        "NotFoundException", "Invalid base path mapping identifier specified", 404)
    apigw.delete_base_path_mapping(domainName="mapped.example.com", basePath="v2")
    apigw.delete_domain_name(domainName="mapped.example.com")
    apigw.create_domain_name(domainName="mapped.example.com")
    assert apigw.get_base_path_mappings(domainName="mapped.example.com")["items"] == []


# -- tags -----------------------------------------------------------------------------------------------

def test_tags_on_every_taggable_resource(apigw):
    api_id = stage(apigw, "prod")
    arn = "arn:aws:apigateway:us-east-1::"
    resources = [
        f"{arn}/restapis/{api_id}", f"{arn}/restapis/{api_id}/stages/prod",
        f"{arn}/apikeys/{apigw.create_api_key(name='tagged')['id']}",
        f"{arn}/usageplans/{apigw.create_usage_plan(name='tagged')['id']}",
        f"{arn}/domainnames/{apigw.create_domain_name(domainName='tagged.example.com')['domainName']}",
        f"{arn}/vpclinks/{apigw.create_vpc_link(name='tagged', targetArns=[NLB])['id']}",
        f"{arn}/clientcertificates/{apigw.generate_client_certificate()['clientCertificateId']}",
    ]
    for resource in resources:
        assert apigw.tag_resource(resourceArn=resource, tags={"a": "1", "b": "2"})[
            "ResponseMetadata"]["HTTPStatusCode"] == 204
        apigw.untag_resource(resourceArn=resource, tagKeys=["b"])
        assert apigw.get_tags(resourceArn=resource)["tags"] == {"a": "1"}, resource
    assert apigw.get_rest_api(restApiId=api_id)["tags"] == {"a": "1"}
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["tags"] == {"a": "1"}
    assert error(lambda: apigw.get_tags(resourceArn="not-an-arn")) == (
        "BadRequestException", "Invalid ARN specified in the request", 400)
    assert error(lambda: apigw.get_tags(resourceArn=f"{arn}/apikeys/missing")) == (
        "NotFoundException", "Invalid API Key identifier specified", 404)


# -- account --------------------------------------------------------------------------------------------

def test_account_defaults_and_updates(apigw):
    account = apigw.get_account()
    assert (account["throttleSettings"], account["features"], account["apiKeyVersion"]) == (
        {"burstLimit": 5000, "rateLimit": 10000.0}, ["UsagePlans"], "4")
    role = "arn:aws:iam::123456789012:role/apigw-logs"
    updated = apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}])
    assert updated["cloudwatchRoleArn"] == role
    assert apigw.get_account()["cloudwatchRoleArn"] == role
    assert error(lambda: apigw.update_account(patchOperations=[
        {"op": "replace", "path": "/throttleSettings/burstLimit", "value": "1"}]))[0] == "BadRequestException"


# -- client certificates --------------------------------------------------------------------------------

def test_client_certificate_lifecycle(apigw):
    created = apigw.generate_client_certificate(description="backend mTLS", tags={"k": "v"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    certificate = x509.load_pem_x509_certificate(created["pemEncodedCertificate"].encode())
    assert certificate.issuer == certificate.subject  # self-signed
    assert created["expirationDate"] - created["createdDate"] == dt.timedelta(days=365)
    cert_id = created["clientCertificateId"]
    assert set(apigw.get_client_certificate(clientCertificateId=cert_id)) - {"ResponseMetadata"} == {
        "clientCertificateId", "description", "pemEncodedCertificate", "createdDate", "expirationDate", "tags"}
    assert cert_id in [c["clientCertificateId"] for c in apigw.get_client_certificates()["items"]]
    updated = apigw.update_client_certificate(clientCertificateId=cert_id, patchOperations=[
        {"op": "replace", "path": "/description", "value": "renamed"}])
    assert updated["description"] == "renamed"
    apigw.delete_client_certificate(clientCertificateId=cert_id)
    assert error(lambda: apigw.get_client_certificate(clientCertificateId=cert_id))[0] == "NotFoundException"
