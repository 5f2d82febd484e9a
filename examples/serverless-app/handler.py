import base64
import json
import os


def _env():
    return {k: os.environ.get(k) for k in ("GREETING", "STAGE", "TIER", "REST_API_ID")}


def hello(event, context):
    version = event.get("version", "1.0")
    return {"statusCode": 200, "body": json.dumps({"message": f"{os.environ['GREETING']} from {os.environ['STAGE']}",
                                                   "payload": version, "function": context.function_name,
                                                   **_env()})}


def notes(event, context):
    if "httpMethod" in event:  # the REST API's Lambda proxy (payload 1.0)
        if event["httpMethod"] == "POST":  # the body was checked against the event's schema
            return {"statusCode": 201, "body": json.dumps({"created": json.loads(event["body"])})}
        note_id = event["pathParameters"]["id"]
        user = event["requestContext"]["authorizer"]["principalId"]
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"},
                "body": json.dumps({"id": note_id, "user": user})}
    raw = event.get("body") or "{}"  # the HTTP API (payload 2.0); a body without a text type comes base64-encoded
    body = json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)
    user = event["requestContext"]["authorizer"]["lambda"]["user"]
    return {"statusCode": 201, "body": json.dumps({"created": body, "user": user})}


def legacy(event, context):
    """`integration: lambda`: the event is the Framework's request template's, the answer is the body, and an
    error whose message carries `[404]` answers 404."""
    name = event["path"]["name"]
    if name == "missing":
        raise LookupError(f"[404] no {name}")
    return {"hello": name, "method": event["method"], "query": event["query"], "stage": event["stage"],
            "requestPath": event["requestPath"]}
