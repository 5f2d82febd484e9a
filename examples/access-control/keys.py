"""Create an API key and a usage plan for the demo API's `dev` stage through the control plane,
then call /orders with the key (the project must be running: `apiway serve` in this folder).

    .venv/bin/python examples/access-control/keys.py API_ID
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

import boto3

api_id = sys.argv[1]
endpoint = os.environ.get("APIWAY_ENDPOINT", "http://localhost:8080")
apigw = boto3.client("apigateway", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="any", aws_secret_access_key="any")
key = apigw.create_api_key(name="demo-customer", enabled=True)
plan = apigw.create_usage_plan(name="demo-plan", apiStages=[{"apiId": api_id, "stage": "dev"}],
                               throttle={"rateLimit": 5, "burstLimit": 10},
                               quota={"limit": 100, "period": "DAY"})
apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")

url = f"{endpoint}/restapis/{api_id}/dev/_user_request_/orders"
for body in (b'{"item": "tea", "quantity": 2}', b'{"item": "tea"}'):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"x-api-key": key["value"], "Content-Type": "application/json"})
    try:
        print(urllib.request.urlopen(req).read().decode())
    except urllib.error.HTTPError as err:
        print(err.code, err.read().decode())
