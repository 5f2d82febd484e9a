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
    """The @connections API of the stage that called, at the gateway's own address as on AWS (plain http for
    a gateway on this machine). Credentials: the function's role on AWS; any on a local gateway."""
    ctx = event["requestContext"]
    domain = ctx["domainName"]
    scheme = "http" if "localhost" in domain or domain.startswith("127.") else "https"
    return boto3.client("apigatewaymanagementapi", endpoint_url=f"{scheme}://{domain}/{ctx['stage']}",
                        region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
                        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"))


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
    return {"statusCode": 200, "body": json.dumps({"error": "unknown action; try sendmessage or echo"})}
