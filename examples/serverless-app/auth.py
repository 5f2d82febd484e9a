def token(event, context):
    """A TOKEN authorizer for the REST API: `Authorization: allow-NAME` lets NAME in."""
    value = event.get("authorizationToken") or ""
    if not value.startswith("allow-"):
        raise Exception("Unauthorized")  # API Gateway answers 401
    return {"principalId": value[6:], "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]}}


def simple(event, context):
    """A REQUEST authorizer for the HTTP API with simple responses."""
    value = (event.get("headers") or {}).get("authorization", "")
    return {"isAuthorized": value.startswith("allow-"), "context": {"user": value[6:]}}


def connect(event, context):
    """The WebSocket API's $connect authorizer: `?token=letmein`."""
    allowed = (event.get("queryStringParameters") or {}).get("token") == "letmein"
    return {"principalId": "ws", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny", "Resource": event["methodArn"]}]}}
