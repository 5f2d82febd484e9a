"""Build, deploy, call, change and export a REST API through apiway's control plane with boto3 —
the same calls work against AWS.

    .venv/bin/apiway serve &                         # no project needed
    .venv/bin/python examples/control-plane/build_api.py
"""

from __future__ import annotations

import json
import os
import urllib.request

import boto3

ENDPOINT = os.environ.get("APIWAY_ENDPOINT", "http://localhost:8080")
apigw = boto3.client("apigateway", endpoint_url=ENDPOINT, region_name="us-east-1",
                     aws_access_key_id="any", aws_secret_access_key="any")

api = apigw.create_rest_api(name="hello-api", description="built with boto3")
api_id = api["id"]
hello = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="hello")
apigw.put_method(restApiId=api_id, resourceId=hello["id"], httpMethod="GET", authorizationType="NONE")
apigw.put_integration(restApiId=api_id, resourceId=hello["id"], httpMethod="GET", type="MOCK",
                      requestTemplates={"application/json": '{"statusCode": 200}'})
apigw.put_integration_response(restApiId=api_id, resourceId=hello["id"], httpMethod="GET", statusCode="200",
                               responseTemplates={"application/json": '{"hello": "$stageVariables.who"}'})
apigw.put_method_response(restApiId=api_id, resourceId=hello["id"], httpMethod="GET", statusCode="200")
apigw.create_deployment(restApiId=api_id, stageName="dev", variables={"who": "world"})

url = f"{ENDPOINT}/restapis/{api_id}/dev/_user_request_/hello"
print(url, "→", urllib.request.urlopen(url).read().decode())

# Stage settings apply at once; API changes need a new deployment.
apigw.update_stage(restApiId=api_id, stageName="dev",
                   patchOperations=[{"op": "replace", "path": "/variables/who", "value": "boto3"}])
print(url, "→", urllib.request.urlopen(url).read().decode())

export = apigw.get_export(restApiId=api_id, stageName="dev", exportType="oas30",
                          parameters={"extensions": "apigateway"}, accepts="application/json")
document = json.loads(export["body"].read())
print("exported paths:", list(document["paths"]))
