"""The chat's Lambda functions. The gateway keeps the connections; the functions only need to know whom to
send to. On AWS that list lives in a table (DynamoDB, written on $connect, deleted on $disconnect); here it
is a file of connection ids under the system's temporary directory, shared by the worker processes that run
these functions. A connection that is gone answers 410 (GoneException) and is dropped from the list."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path

import boto3

ROSTER = Path(tempfile.gettempdir()) / "apiway-chat-connections.txt"
TOKEN = "letmein"


def _roster(change=None):
    """The connection ids, changed under a lock when `change` (a function of the set) is given."""
    ROSTER.touch()
    with ROSTER.open("r+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        ids = {line.strip() for line in file if line.strip()}
        if change is not None:
            change(ids)
            file.seek(0)
            file.truncate()
            file.write("".join(f"{i}\n" for i in sorted(ids)))
        return ids


def authorize(event, context):
    allowed = (event.get("queryStringParameters") or {}).get("token") == TOKEN
    return {"principalId": "chat-user",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny",
                 "Resource": event["methodArn"]}]},
            "context": {"room": "lobby"}}


def on_connect(event, context):
    connection_id = event["requestContext"]["connectionId"]
    _roster(lambda ids: ids.add(connection_id))
    return {"statusCode": 200}


def on_disconnect(event, context):
    connection_id = event["requestContext"]["connectionId"]
    _roster(lambda ids: ids.discard(connection_id))
    return {"statusCode": 200}


def _management(event):
    """The @connections API of the stage that called. On AWS it is at the stage's own address; apiway gives its
    functions that address in AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI (with credentials it accepts), which
    boto3 reads when no endpoint_url is passed."""
    endpoint = None
    if not os.environ.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"):
        ctx = event["requestContext"]
        endpoint = f"https://{ctx['domainName']}/{ctx['stage']}"
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint,
                        region_name=os.environ.get("AWS_REGION", "us-east-1"))


def send_message(event, context):
    text = json.loads(event.get("body") or "{}").get("text", "")
    sender = event["requestContext"]["connectionId"]
    data = json.dumps({"from": sender, "text": text}).encode()
    client = _management(event)
    gone = set()
    for connection_id in _roster():
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data)
        except client.exceptions.GoneException:
            gone.add(connection_id)
    if gone:
        _roster(lambda ids: ids.difference_update(gone))
    return {"statusCode": 200, "body": json.dumps({"sent": len(_roster())})}


def default(event, context):
    return {"statusCode": 200, "body": json.dumps({"error": "unknown action; try sendmessage or whoami"})}
