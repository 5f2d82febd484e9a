import json

from formatting import reply

ORDERS = [{"id": "1", "item": "tea"}]


def handler(event, context):
    if event.get("httpMethod") == "POST":
        order = json.loads(event.get("body") or "{}")
        return reply(201, {"created": order, "by": event["requestContext"].get("authorizer", {}).get("principalId")})
    route = event.get("routeKey") or event.get("resource")
    return reply(200, {"orders": ORDERS, "route": route, "tier": (event.get("stageVariables") or {}).get("tier")})
