"""A TOKEN authorizer: `Authorization: allow-<user>` is allowed, anything else denied."""


def handler(event, context):
    token = event["authorizationToken"]
    effect = "Allow" if token.startswith("allow-") else "Deny"
    return {
        "principalId": token.removeprefix("allow-"),
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"tier": "gold"},
    }
