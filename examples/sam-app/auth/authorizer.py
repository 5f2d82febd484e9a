"""A Lambda TOKEN authorizer: `Authorization: allow-<user>` is let in, anything else is refused."""


def handler(event, context):
    token = event.get("authorizationToken", "")
    if not token.startswith("allow-"):
        raise Exception("Unauthorized")  # API Gateway answers 401
    return {"principalId": token[len("allow-"):],
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
                                              "Resource": event["methodArn"].split("/")[0] + "/*"}]}}
