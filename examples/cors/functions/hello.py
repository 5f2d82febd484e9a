"""A Lambda proxy integration answers for itself: API Gateway adds no CORS headers to its response."""

import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": json.dumps({"hello": (event.get("queryStringParameters") or {}).get("name", "world")}),
    }
