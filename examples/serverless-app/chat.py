import json


def connect(event, context):
    return {"statusCode": 200}


def echo(event, context):
    """A two-way route: the body goes back to the sender."""
    body = json.loads(event["body"])
    return {"statusCode": 200, "body": json.dumps({"echo": body.get("text"),
                                                   "route": event["requestContext"]["routeKey"]})}
